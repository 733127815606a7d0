"""Scale-out benchmark: batch assessment with every detector on, in one process and on a
local Dask cluster of 1 and 2 workers, and what a cluster for a billion declarations needs.

    python bench/scale.py [--declarations 1000000] [--demo 20000] [--workers 0,1,2]
                          [--dataset DIR] [--store URL]

The store is the one `bench/assess.py` assesses against (`tamis demo`'s, with 200 rules and
a watchlist); the declarations are the year after the demo's, generated a month at a time
and written as Parquet files of at most 100,000 declarations. Each run reads, checks and
assesses every file and writes its decisions (`tamis assess`'s path; decisions not
recorded in the store, so that SQLite's one writer does not set the pace): one process
assesses the files one after the other (`assess_file`), a cluster one file per task
(`tamis.cluster.assess_dataset`). Printed: declarations/s of each run, the cluster's
scaling efficiency against one process, and a projection from the best per-worker figure.
``--dataset`` and ``--store`` run again on what an earlier run generated and built (both
printed), so that a run can be repeated alone (``--workers 0``).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from tamis import synth
from tamis.assess import assess_file, assessor_from_store
from tamis.cluster import assess_dataset, connected, dataset_files
from tamis.store import open_store

sys.path.insert(0, str(Path(__file__).parent))
from assess import demo_store, many_rules  # noqa: E402 (a benchmark beside this one)

YEAR = 1_000_000_000  # declarations a year to project for (a customs union, e-commerce)
PEAK = 4  # the busiest hour's lodgements against an average hour's
FILE = 100_000  # declarations a file at most: each task's memory stays that of a small file


def dataset(declarations: int, folder: Path, year: int = 2026) -> tuple[Path, pl.DataFrame]:
    """The year after the demo's, generated a month at a time (ten million declarations at
    once would take some 30 GB) and written as Parquet files of at most ``FILE`` declarations;
    the dataset and its first month's items (what the rules are drawn from)."""
    first = None
    for month in range(1, 13):
        start = date(year, month, 1)
        days = ((start + timedelta(days=32)).replace(day=1) - start).days
        items = synth.generate(declarations // 12 + (month <= declarations % 12), 5 + month,
                               start, days).items  # fmt: skip
        items = items.with_columns(  # ids of its own: each month's generator starts again
            pl.format("N{}-{}", pl.lit(start.strftime("%Y%m")), "declaration_id").alias(
                "declaration_id"
            )
        )
        first = items if first is None else first
        part = ((pl.col("declaration_id").rank("dense") - 1) // FILE).alias("part")
        for (n,), chosen in items.with_columns(part).group_by("part"):
            chosen.drop("part").write_parquet(folder / f"{start:%Y-%m}-{n:03d}.parquet")
        print(f"  generated {start:%Y-%m}", file=sys.stderr, flush=True)
    return folder, first


def one_process(files: list[Path], assessor, out: Path) -> float:
    started = time.perf_counter()
    for n, file in enumerate(files):
        assess_file(file, "canonical", assessor, out / f"part-{n:05d}.parquet")
        print(f"  one process: {n + 1}/{len(files)} files", file=sys.stderr, flush=True)
    return time.perf_counter() - started


def on_cluster(data: Path, assessor, out: Path, workers: int) -> float:
    with connected(workers) as client:
        client.wait_for_workers(workers)

        def progress(done, total):
            print(f"  {workers} worker(s): {done}/{total} files", file=sys.stderr, flush=True)

        started = time.perf_counter()
        assess_dataset(data, "canonical", assessor, out, client, progress=progress)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--demo", type=int, default=20_000, help="declarations of the demo store")
    parser.add_argument(
        "--workers",
        default="0,1,2",
        help="runs: 0 is one process without a cluster, N a cluster of N workers",
    )
    parser.add_argument("--dataset", type=Path, help="assess this dataset instead of a new one")
    parser.add_argument("--store", help="a store built by an earlier run (its URL)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    data, first_month = args.dataset, None
    if data is None:
        (folder / "dataset").mkdir()
        data, first_month = dataset(args.declarations, folder / "dataset")
    files = dataset_files(data)
    url = args.store
    if url is None:
        print(f"demo store of {args.demo:,} declarations ...", file=sys.stderr, flush=True)
        rules_from = first_month if first_month is not None else pl.read_parquet(files[0])
        url = demo_store(many_rules(200, rules_from), args.demo)
    del first_month
    print(f"dataset {data}, store {url}", flush=True)
    assessor = assessor_from_store(open_store(url))
    print(f"detectors: {', '.join(d.name for d in assessor.detectors)}", flush=True)
    counted = pl.scan_parquet(files).select(
        pl.col("declaration_id").n_unique().alias("declarations"), pl.len().alias("items")
    )
    declarations, item_rows = counted.collect().row(0)
    print(f"{declarations:,} declarations ({item_rows:,} items) in {len(files)} files", flush=True)

    alone, best = None, 0.0
    for workers in map(int, args.workers.split(",")):
        out = folder / (f"dask-{workers}" if workers else "one")
        out.mkdir()
        if not workers:
            alone = declarations / one_process(files, assessor, out)
            best = max(best, alone)
            print(f"one process: {alone:,.0f} declarations/s", flush=True)
            continue
        rate = declarations / on_cluster(data, assessor, out, workers)
        best = max(best, rate)
        against = (f", scaling efficiency {rate / (alone * workers):.0%} of {workers} x one "
                   "process" if alone else "")  # fmt: skip
        print(f"dask, {workers} worker(s): {rate:,.0f} declarations/s{against}", flush=True)
    cores = os.cpu_count() or 1  # every run here keeps them all busy (Polars' threads)
    projection(best / cores, cores)


def projection(per_core: float, cores: int) -> None:
    peak = YEAR / (365 * 24 * 3600) * PEAK
    hour, night = YEAR / 3600 / per_core, YEAR / 8 / 3600 / per_core
    print(
        f"projection from {per_core:,.0f} declarations/s per core (the best run over {cores} "
        f"cores): {YEAR:,} declarations a year re-assessed in one hour need {hour:,.0f} cores "
        f"({hour / cores:,.0f} machines like this one), in a night of 8 hours {night:,.0f} "
        f"cores; lodgement at the peak hour ({PEAK} x the average, {peak:,.0f}/s) needs "
        f"{peak / per_core:.2f} core(s) at this rate",
        flush=True,
    )


if __name__ == "__main__":
    main()
