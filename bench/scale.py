"""Scale-out benchmark: batch assessment with every detector on, in one process and on a
local Dask cluster of 1 and 2 workers, and what a cluster for a billion declarations needs.

    python bench/scale.py [--declarations 1000000] [--demo 20000] [--workers 1,2]

The store is the one `bench/assess.py` assesses against (`tamis demo`'s, with 200 rules and
a watchlist); the declarations are the year after the demo's, written as a dataset of one
Parquet file a month. Each run reads, checks and assesses every file and writes its
decisions (`tamis assess`'s path; decisions not recorded in the store, so that SQLite's one
writer does not set the pace): one process assesses the files one after the other
(`assess_file`), a cluster one file per task (`tamis.cluster.assess_dataset`). Printed:
declarations/s of each run, the cluster's scaling efficiency against one process, and a
projection from the best per-worker figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
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


def dataset(items: pl.DataFrame, folder: Path) -> Path:
    """The declarations as one Parquet file a month."""
    for (month,), part in items.group_by(pl.col("lodged_at").dt.strftime("%Y-%m")):
        part.write_parquet(folder / f"{month}.parquet")
    return folder


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
    parser.add_argument("--workers", default="1,2", help="cluster sizes to run")
    args = parser.parse_args()
    print(f"demo store of {args.demo:,} declarations ...", file=sys.stderr, flush=True)
    items = synth.generate(args.declarations, seed=5).items
    url = demo_store(many_rules(200, items), args.demo)
    later = items.with_columns(  # the year after the demo's, under other ids
        pl.col("lodged_at") + timedelta(days=365),
        ("N" + pl.col("declaration_id")).alias("declaration_id"),
    )
    assessor = assessor_from_store(open_store(url))
    print(f"detectors: {', '.join(d.name for d in assessor.detectors)}", flush=True)
    folder = Path(tempfile.mkdtemp())
    (folder / "dataset").mkdir()
    data = dataset(later, folder / "dataset")
    files = dataset_files(data)
    declarations = later["declaration_id"].n_unique()
    print(
        f"{declarations:,} declarations ({later.height:,} items) in {len(files)} files", flush=True
    )

    (folder / "one").mkdir()
    alone = declarations / one_process(files, assessor, folder / "one")
    print(f"one process: {alone:,.0f} declarations/s", flush=True)
    cores = os.cpu_count() or 1  # every run here keeps them all busy (Polars' threads)
    best = alone
    for workers in map(int, args.workers.split(",")):
        rate = declarations / on_cluster(data, assessor, folder / f"dask-{workers}", workers)
        best = max(best, rate)
        print(f"dask, {workers} worker(s): {rate:,.0f} declarations/s, scaling efficiency "
              f"{rate / (alone * workers):.0%} of {workers} x one process", flush=True)  # fmt: skip
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
