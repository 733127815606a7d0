"""Ingest benchmark: item rows from CSV into SQLite and PostgreSQL; rows/s and peak memory,
and the same rows through each engine's own bulk loader, side by side.

    python bench/ingest.py [--rows 1000000] [--postgres postgresql://127.0.0.1:5432/test]

Each load runs in a fresh process so its peak resident memory is its own. Two file sizes
show whether memory stays flat as the file grows (it should: batches are streamed).

The engine's own loader gets the rows Tamis stored (declarations and items, already checked
and converted, exported as CSV) into an empty store of the same schema: the `sqlite3`
shell's `.import` for SQLite, `COPY ... FROM STDIN` from Python for PostgreSQL. The ratio is
Tamis's item rows/s over the loader's, every check and the provenance included on Tamis's
side, nothing on the loader's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import polars as pl
from sqlalchemy import create_engine, text

from tamis import synth
from tamis.store import open_store
from tamis.store.tables import declarations, items

LOAD = """
import json, sys
from tamis.store import open_store
from tamis.ingest import ingest
engine = open_store(sys.argv[2])
summary = ingest(sys.argv[1], "canonical", engine)
# VmHWM is this process's own peak; ru_maxrss would carry the parent's across exec
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print(json.dumps({"rows": summary.received, "accepted": summary.accepted,
                  "seconds": summary.seconds, "peak_mb": round(peak)}))
"""


def items_csv(rows: int, folder: Path) -> Path:
    """A CSV of about ``rows`` item rows from the synthetic generator (1.8 items/declaration)."""
    path = folder / f"items-{rows}.csv"
    items = synth.generate(int(rows / 1.75) + 1, seed=11).items.head(rows)
    items.drop("fraud", "fraud_type", "revenue_at_stake", "ring_member").write_csv(path)
    return path


def load(path: Path, url: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", LOAD, str(path), url], check=True, capture_output=True, text=True
    ).stdout
    result = json.loads(out)
    result["rows_per_s"] = round(result["rows"] / result["seconds"])
    return result


def report(engine: str, rows: int, mb: float, result: dict) -> None:
    print(
        f"{engine:<10} {rows:>9,} rows ({mb:,.0f} MB CSV): {result['rows_per_s']:>7,} rows/s, "
        f"peak {result['peak_mb']} MB, accepted {result['accepted']:,}",
        flush=True,
    )


def postgres_schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with create_engine(base).begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    return f"{base}?options=-csearch_path%3D{schema}", schema


def exported(url: str, folder: Path) -> list[tuple[str, Path]]:
    """The declarations and items Tamis stored, as CSV files in the tables' column order."""
    engine, files = create_engine(url), []
    for table in (declarations, items):
        path = folder / f"{table.name}.csv"
        with engine.connect() as conn:
            rows = conn.execute(table.select()).all()
        pl.DataFrame(rows, schema=[c.name for c in table.columns], orient="row",
                     infer_schema_length=None).write_csv(path)  # fmt: skip
        files.append((table.name, path))
    engine.dispose()
    return files


def sqlite_loader(files: list[tuple[str, Path]], folder: Path) -> float | None:
    """Seconds the sqlite3 shell's .import takes into an empty store; None without the shell."""
    if shutil.which("sqlite3") is None:
        return None
    database = folder / f"loader-{uuid.uuid4().hex[:8]}.db"
    open_store(f"sqlite:///{database}").dispose()
    script = "PRAGMA journal_mode=WAL;\nPRAGMA synchronous=NORMAL;\nPRAGMA foreign_keys=ON;\n"
    script += "".join(f".import --csv --skip 1 {path} {table}\n" for table, path in files)
    started = time.perf_counter()
    subprocess.run(["sqlite3", str(database)], input=script, text=True, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return time.perf_counter() - started


def postgres_loader(files: list[tuple[str, Path]], base: str) -> float:
    """Seconds COPY from Python takes into an empty schema of the store's tables."""
    url, schema = postgres_schema_url(base)
    try:
        open_store(url).dispose()
        engine = create_engine(url)
        started = time.perf_counter()
        with engine.begin() as conn:
            cursor = conn.connection.driver_connection.cursor()
            for table, path in files:
                with path.open() as handle:  # the file's column order, not the table's
                    columns = handle.readline().strip()
                with cursor.copy(
                    f"COPY {table} ({columns}) FROM STDIN (FORMAT csv, HEADER)"
                ) as copy:
                    copy.write(path.read_bytes())
        seconds = time.perf_counter() - started
        engine.dispose()
        return seconds
    finally:
        with create_engine(base).begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def side_by_side(engine: str, result: dict, loader_seconds: float | None) -> None:
    if loader_seconds is None:
        print(f"{engine:<10} its own loader: not measured (no sqlite3 shell)", flush=True)
        return
    loader = result["accepted"] / loader_seconds
    print(f"{engine:<10} its own loader: {loader:>7,.0f} rows/s; Tamis {result['rows_per_s']:,} "
          f"rows/s = {result['rows_per_s'] / loader:.0%} of it", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", default="postgresql+psycopg://127.0.0.1:5432/test")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for rows in (args.rows // 4, args.rows):
            path = items_csv(rows, folder)
            mb = path.stat().st_size / 1e6
            sqlite_url = f"sqlite:///{folder / f'bench-{rows}.db'}"
            result = load(path, sqlite_url)
            report("SQLite", rows, mb, result)
            side_by_side("SQLite", result, sqlite_loader(exported(sqlite_url, folder), folder))
            url, schema = postgres_schema_url(args.postgres)
            try:
                result = load(path, url)
                report("PostgreSQL", rows, mb, result)
                loaded = postgres_loader(exported(url, folder), args.postgres)
                side_by_side("PostgreSQL", result, loaded)
            finally:
                with create_engine(args.postgres).begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    pl.Config.set_tbl_rows(20)
    main()
