"""Training on a Dask cluster against training in one process, on the KCS year.

    python bench/train_cluster.py [--workers 1,2] [--data ../shared/data/kcs]

The KCS training year (every row inspected) is ingested into a SQLite store; a model is
trained from it in one process (`tamis learn train`) and on a local cluster of each size
(`tamis learn train --workers N`, a month a partition). Printed for each: seconds, the
holdout figures it registers, and precision@5 / revenue@5 of the model ranking the next
quarter (`valid.csv`), which none of them saw.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from tamis.cluster import connected
from tamis.cluster.train import train_on_cluster
from tamis.ingest import ingest
from tamis.learn import registry
from tamis.learn.data import read_labelled_files, read_labelled_store
from tamis.learn.metrics import targeting_metrics
from tamis.learn.ranking import batch_priority
from tamis.learn.tables import models
from tamis.learn.train import train_from_store
from tamis.store import open_store

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "kcs"


def on_next_quarter(engine, version: int, valid) -> dict:
    with engine.connect() as conn:
        row = conn.execute(select(models).where(models.c.version == version)).one()
    model = registry.model_of(dict(row._mapping))
    model = model.with_history(read_labelled_store(engine))
    p, money = model.predict(model.features(valid))
    fraud, revenue = valid["fraud"].to_numpy(), valid["revenue"].to_numpy()
    return targeting_metrics(batch_priority(p, money), fraud, revenue)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        engine = open_store(f"sqlite:///{Path(folder) / 'kcs.db'}")
        ingest(args.data / "train.csv", "kcs", engine)
        valid = read_labelled_files(args.data / "valid.csv", "kcs").frame
        runs = {"one process": lambda: train_from_store(engine)}
        for workers in map(int, args.workers.split(",")):

            def run(workers=workers):
                with connected(workers) as client:
                    client.wait_for_workers(workers)
                    return train_on_cluster(engine, client)

            runs[f"{workers} worker(s)"] = run
        print(f"{'run':<12} {'seconds':>8} {'holdout p@5':>12} {'next quarter p@5':>17} "
              f"{'revenue@5':>10}")  # fmt: skip
        for name, train in runs.items():
            started = time.perf_counter()
            version, holdout = train()
            seconds = time.perf_counter() - started
            later = on_next_quarter(engine, version, valid)
            figures = f"{holdout['precision@5']:>12.3f} {later['precision@5']:>17.3f}"
            print(f"{name:<12} {seconds:>8.1f} {figures} {later['revenue@5']:>10.3f}", flush=True)


if __name__ == "__main__":
    main()
