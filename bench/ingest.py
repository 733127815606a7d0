"""Ingest benchmark: item rows from CSV into SQLite and PostgreSQL; rows/s and peak memory.

    python bench/ingest.py [--rows 1000000] [--postgres postgresql://127.0.0.1:5432/test]

Each load runs in a fresh process so its peak resident memory is its own. Two file sizes
show whether memory stays flat as the file grows (it should: batches are streamed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import polars as pl
from sqlalchemy import create_engine, text

from tamis import synth

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
            report("SQLite", rows, mb, load(path, f"sqlite:///{folder / f'bench-{rows}.db'}"))
            url, schema = postgres_schema_url(args.postgres)
            try:
                report("PostgreSQL", rows, mb, load(path, url))
            finally:
                with create_engine(args.postgres).begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    pl.Config.set_tbl_rows(20)
    main()
