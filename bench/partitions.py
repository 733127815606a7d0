"""PostgreSQL partitioned by month: what a query by lodgement period, a declaration looked up
by id, creating the months and archiving one cost, on a store of several years.

    python bench/partitions.py [--declarations 400000] [--years 4] [--url postgresql://...]

The store is a fresh schema of the PostgreSQL database at ``--url`` (default: the tests'
one); the declarations are synthetic, spread over ``--years`` years from 2022, ingested with
every check, assessed and their decisions recorded. They are ingested before their months
exist, so every row first lies in the default partitions: the same queries are timed there
(one table a kind, as before partitioning) and again after ``tamis db partitions`` has given
each month its own. Printed: each figure, the best of five runs.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from tamis import synth
from tamis.assess import assess_file, assessor_from_store
from tamis.ingest import ingest
from tamis.listing.declarations import DeclarationFilters, declarations_page
from tamis.store import open_store
from tamis.store.partitions import archive, maintain
from tamis.store.tables import declarations

URL = os.environ.get("TAMIS_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")


def best(run, repeat: int = 5) -> float:
    """The shortest of ``repeat`` runs of ``run``, in milliseconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def timed_queries(engine, month: date, ids: list[str]) -> dict[str, float]:
    period = DeclarationFilters(lodged_from=month, lodged_to=date(month.year, month.month, 28))

    def lookups():
        with engine.connect() as conn:
            for declaration_id in ids:
                conn.execute(
                    text("SELECT * FROM decisions WHERE declaration_id = :id"),
                    {"id": declaration_id},
                ).all()

    return {
        "a month's first page, by lodgement": best(lambda: declarations_page(engine, period)),
        "a month's first page, by score": best(
            lambda: declarations_page(engine, period, sort="score")
        ),
        f"{len(ids)} declarations' decisions by id": best(lookups),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--declarations", type=int, default=400_000)
    parser.add_argument("--years", type=int, default=4)
    parser.add_argument("--url", default=URL)
    args = parser.parse_args()
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        engine = open_store(f"{args.url}?options=-csearch_path%3D{schema}")
        with tempfile.TemporaryDirectory() as folder:
            data = Path(folder) / "years.parquet"
            made = synth.generate(args.declarations, 7, date(2022, 1, 1), days=365 * args.years)
            synth.write(made, data)
            started = time.perf_counter()
            ingest(data, "canonical", engine)
            print(
                f"ingest: {args.declarations:,} declarations, {time.perf_counter() - started:.0f} s"
            )
            started = time.perf_counter()
            assess_file(
                data, "canonical", assessor_from_store(engine), Path(folder) / "a.parquet", engine
            )
            print(f"assess and record: {time.perf_counter() - started:.0f} s")
        with engine.connect() as conn:
            ids = (
                conn.execute(
                    select(declarations.c.declaration_id).order_by(func.random()).limit(200)
                )
                .scalars()
                .all()
            )
            conn.execute(text("ANALYZE"))
        month = date(2024, 6, 1)
        before = timed_queries(engine, month, ids)
        started = time.perf_counter()
        done = maintain(engine, ahead=0)
        moved = time.perf_counter() - started
        print(
            f"tamis db partitions: {len(done.created)} months created,"
            f" rows moved {done.moved}, {moved:.1f} s"
        )
        after = timed_queries(engine, month, ids)

        print(f"{'query':45} {'default only':>14} {'by month':>10}")
        for name in before:
            print(f"{name:45} {before[name]:>11.1f} ms {after[name]:>7.1f} ms")
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            archived = archive(engine, date(2022, 1, 1), Path(folder))
            print(
                f"tamis db archive 2022-01: {archived.rows} rows written and dropped in"
                f" {time.perf_counter() - started:.1f} s"
            )
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


if __name__ == "__main__":
    main()
