"""Learning benchmark: KCS targeting metrics (model and baseline), training time on
1,000,000 declarations and scoring throughput.

    python bench/learn.py                # everything
    python bench/learn.py --rows 200000  # a smaller training set for the timing part

The 1,000,000 declarations are the KCS training year tiled with fresh ids (each copy has its
own importers, declarants and suppliers) and values jittered by 1 %: the same shape of data,
at scale. LightGBM runs on 2 threads.
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import polars as pl

from tamis.learn.data import read_labelled_files
from tamis.learn.evaluate import evaluate, table
from tamis.learn.model import FraudModel

KCS = Path(__file__).resolve().parents[2] / "shared" / "data" / "kcs"


def tiled(frame: pl.DataFrame, rows: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    copies = []
    for copy in range(-(-rows // frame.height)):
        suffix = pl.lit(f"-{copy}")
        copies.append(
            frame.with_columns(
                *[pl.col(c) + suffix for c in ("declaration_id", "importer_id", "declarant_id",
                                                "supplier_id")],
                pl.col("customs_value").cast(pl.Float64)
                * pl.Series(1 + rng.normal(0, 0.01, frame.height)).clip(0.9, 1.1),
            )
        )  # fmt: skip
    return pl.concat(copies).head(rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    train = read_labelled_files(KCS / "train.csv", "kcs")
    valid = read_labelled_files(KCS / "valid.csv", "kcs")

    result = evaluate(train, valid)
    print(f"KCS: train {result.train_rows:,} rows (2020), test {result.test_rows:,} rows (2021Q1)")
    print(table(result))
    print(f"fit {result.fit_seconds:.1f} s; scoring {result.score_rows_per_second:,.0f} rows/s")

    big = tiled(train, args.rows)
    started = time.perf_counter()
    model = FraudModel.fit(big)
    fit_seconds = time.perf_counter() - started
    print(f"training on {big.height:,} declarations: {fit_seconds:.0f} s")
    batch = tiled(valid, 100_000, seed=1)
    started = time.perf_counter()
    model.predict_proba(model.features(batch))
    seconds = time.perf_counter() - started
    print(f"scoring {batch.height:,} declarations against {big.height:,} of history: "
          f"{batch.height / seconds:,.0f} declarations/s")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak memory {peak:.1f} GB")


if __name__ == "__main__":
    main()
