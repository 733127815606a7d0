"""The dashboard's scoreboard on a year of 1,000,000 declarations, SQLite and PostgreSQL.

The store is built through the real paths: synth → ingest → assess with every decision
recorded (the scoreboard's sums kept up to date in the same transactions) → inspection
results of the orange, red and randomly selected declarations. Then ``GET /scoreboard`` is
served in-process by the app (login cookie, HTML rendered) and timed: server time per
request, for the whole year on every office, one office, and one month.

Target: ≤ 300 ms per scoreboard.

    .venv/bin/python bench/web.py [--declarations 1000000] [--stores sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text

from tamis import synth, users
from tamis.api.app import create_app
from tamis.assess import assess_file, assessor_from_store
from tamis.ingest import ingest
from tamis.inspections import record_outcomes, simulated_results
from tamis.scoreboard.update import refresh
from tamis.store import open_store
from tamis.store.tables import scoreboard_declarations, scoreboard_importers

POSTGRES = os.environ.get("TAMIS_BENCH_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")
PASSWORD = "bench password long enough"


def timed(label: str, action):
    started = time.perf_counter()
    result = action()
    print(f"  {label:<44} {time.perf_counter() - started:8.1f} s", flush=True)
    return result


def build(url: str, year: Path, folder: Path) -> None:
    engine = open_store(url)
    timed("ingest", lambda: ingest(year, "canonical", engine))
    assessor = assessor_from_store(engine)
    out = folder / "assessed.parquet"
    timed("assess, decisions + scoreboard recorded", lambda: assess_file(
        year, "canonical", assessor, out, engine))  # fmt: skip
    decided = pl.read_parquet(out, columns=["declaration_id", "channel", "random_selected"])
    truth = pl.read_parquet(
        year, columns=["declaration_id", "lodged_at", "fraud", "fraud_type", "revenue_at_stake"]
    )
    results = simulated_results(decided, truth, truth)
    timed(f"{results.height:,} inspection results recorded",
          lambda: record_outcomes(engine, results))  # fmt: skip
    sample = decided["declaration_id"].head(50_000)
    with engine.begin() as conn:
        timed("refresh of 50,000 declarations (no change)", lambda: refresh(conn, sample))
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(scoreboard_declarations)).scalar()
        sums = conn.execute(select(func.count()).select_from(scoreboard_importers)).scalar()
    print(f"  {rows:,} declarations on the scoreboard; {sums:,} importer × month × office sums")
    engine.dispose()


def serve_times(url: str, repeats: int) -> None:
    app = create_app(url)
    users.add_user(app.state.engine, "bench", "analyst", PASSWORD, actor="bench")
    with TestClient(app) as client:
        client.post("/login", data={"username": "bench", "password": PASSWORD})
        cases = {
            "whole year, every office": "/scoreboard?from=2025-01&to=2025-12",
            "whole year, CASA-PORT": "/scoreboard?from=2025-01&to=2025-12&office=CASA-PORT",
            "one month, every office": "/scoreboard?from=2025-06&to=2025-06",
        }
        for label, path in cases.items():
            assert client.get(path).status_code == 200  # warm: first query plans, caches
            times = []
            for _ in range(repeats):
                started = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200 and 'id="kpi-declarations"' in response.text
            times.sort()
            p95 = times[min(len(times) - 1, round(0.95 * len(times)) - 1)]
            print(f"  GET scoreboard, {label:<26} p50 {statistics.median(times):6.0f} ms"
                  f"   p95 {p95:6.0f} ms   max {times[-1]:6.0f} ms")  # fmt: skip
    app.state.engine.dispose()


def postgres_schema() -> tuple[str, callable]:
    schema = f"bench_web_{os.getpid()}"
    admin = create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return f"{POSTGRES}?options=-csearch_path%3D{schema}", drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        year = folder / "year.parquet"
        data = timed(f"synth {args.declarations:,} declarations",
                     lambda: synth.generate(args.declarations, 7))  # fmt: skip
        synth.write(data, year)
        del data
        for store in args.stores.split(","):
            print(f"{store}:")
            if store == "sqlite":
                url, cleanup = f"sqlite:///{folder / 'bench.db'}", lambda: None
            else:
                url, cleanup = postgres_schema()
            try:
                build(url, year, folder)
                serve_times(url, args.repeats)
            finally:
                cleanup()


if __name__ == "__main__":
    main()
