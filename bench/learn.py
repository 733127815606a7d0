"""Learning benchmark: KCS targeting metrics (model and baseline), training time on
1,000,000 declarations and batch scoring throughput.

    python bench/learn.py                                  # everything
    python bench/learn.py --rows 200000 --batch 100000     # smaller, while iterating

The 1,000,000 declarations are the KCS training year tiled with fresh ids (each copy has its
own importers, declarants and suppliers) and values jittered by 1 %: the same shape of data,
at scale. The scored batch is the KCS test quarter tiled the same way, lodged after the
whole history. LightGBM, and the compiled trees that score large batches, run on 2 threads.
The machine may be shared: scoring is timed ``--repeat`` times and the best run is reported
next to the median; the first run also compiles the trees (about a second, once a process).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import polars as pl

from tamis.detectors.model import ModelDetector
from tamis.learn import features as F
from tamis.learn.data import read_labelled_files
from tamis.learn.evaluate import evaluate, table
from tamis.learn.metrics import targeting_metrics
from tamis.learn.model import FraudModel
from tamis.learn.ranking import batch_priority

KCS = Path(__file__).resolve().parents[2] / "shared" / "data" / "kcs"


def tiled(frame: pl.DataFrame, rows: int, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    copies = []
    for copy in range(-(-rows // frame.height)):
        suffix = pl.lit(f"-{seed}-{copy}")
        copies.append(
            frame.with_columns(
                *[pl.col(c) + suffix for c in ("declaration_id", "importer_id", "declarant_id",
                                                "supplier_id")],
                pl.col("customs_value").cast(pl.Float64)
                * pl.Series(1 + rng.normal(0, 0.01, frame.height)).clip(0.9, 1.1),
            )
        )  # fmt: skip
    return pl.concat(copies).head(rows)


def timed(run, repeat: int) -> tuple[float, float]:
    """(best, median) seconds of ``repeat`` runs."""
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return min(seconds), statistics.median(seconds)


def periods(train: pl.DataFrame, valid: pl.DataFrame) -> dict[str, tuple]:
    """(earlier, later) pairs: two time validations inside the training year (the ranking was
    chosen on them) and the test quarter."""
    month = pl.col("lodged_at").dt.month()
    return {
        "2020 Jan-Jun -> Jul-Sep": (train.filter(month <= 6), train.filter(month.is_between(7, 9))),
        "2020 Jan-Sep -> Oct-Dec": (train.filter(month <= 9), train.filter(month >= 10)),
        "test: 2020 -> 2021 Q1": (train, valid),
    }


def at5(p: np.ndarray, money: np.ndarray, later: pl.DataFrame, weight: float):
    """(precision@5, revenue@5) of the balanced ranking with this revenue weight."""
    ranked = batch_priority(p, money, "balanced", weight)
    m = targeting_metrics(ranked, later["fraud"], later["revenue"])
    return m["precision@5"], m["revenue@5"]


def by_seed(train: pl.DataFrame, valid: pl.DataFrame, seeds: int, weights=(0.75, 1.0, 1.25)):
    """precision@5 / revenue@5 of the balanced ranking for LightGBM seeds 0..seeds-1 and a
    few revenue weights, on each period of ``periods``; and, as a diagnosis of what the
    probabilities allow, the best of both any weight reaches with the labels in hindsight."""
    print(f"precision@5 / revenue@5, balanced ranking, LightGBM seeds 0-{seeds - 1}")
    for name, (earlier, later) in periods(train, valid).items():
        scores, hindsight = {w: [] for w in weights}, []
        for seed in range(seeds):
            model = FraudModel.fit(earlier, seed=seed)
            p, money = model.predict(model.features(later))
            for w in weights:
                scores[w].append(at5(p, money, later, w))
            grid = np.geomspace(0.4, 2.5, 25)
            hindsight.append(max(min(at5(p, money, later, w)) for w in grid))
        for w, pairs in scores.items():
            precision, revenue = np.array(pairs).T
            both = int(((precision >= 0.9) & (revenue >= 0.9)).sum())
            print(f"  {name:<25} weight {w:<5} "
                  f"{' '.join(f'{a:.3f}/{b:.3f}' for a, b in pairs)}  "
                  f"min {precision.min():.3f}/{revenue.min():.3f} "
                  f"median {np.median(precision):.3f}/{np.median(revenue):.3f} "
                  f"both >= 0.90: {both}/{seeds}")  # fmt: skip
        print(f"  {name:<25} best min(precision@5, revenue@5) over weights 0.4-2.5, chosen "
              f"in hindsight per seed: {' '.join(f'{h:.3f}' for h in hindsight)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000, help="declarations to train on")
    parser.add_argument("--batch", type=int, default=1_000_000, help="declarations to score")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--seeds", type=int, default=5, help="LightGBM seeds for the KCS figures (0: none)"
    )
    args = parser.parse_args()
    train = read_labelled_files(KCS / "train.csv", "kcs").frame
    valid = read_labelled_files(KCS / "valid.csv", "kcs").frame

    if args.seeds:
        by_seed(train, valid, args.seeds)
    result = evaluate(train, valid)
    print(f"KCS: train {result.train_rows:,} rows (2020), test {result.test_rows:,} rows (2021Q1)")
    print("model ranks by P(fraud) × (revenue + C), revenue weight 1, seed 0; baseline by P(fraud)")
    print(table(result))
    print(f"fit {result.fit_seconds:.1f} s; scoring {result.score_rows_per_second:,.0f} rows/s")

    big = tiled(train, args.rows)
    started = time.perf_counter()
    model = FraudModel.fit(big)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    F.training_features(F.prepare(big))
    feature_seconds = time.perf_counter() - started
    print(f"training on {big.height:,} declarations: {fit_seconds:.0f} s "
          f"(as-of features {feature_seconds:.0f} s, the rest both LightGBM models)")  # fmt: skip

    batch = tiled(valid, args.batch, seed=1).drop("fraud", "revenue")
    best, median = timed(lambda: model.predict(model.features(batch)), args.repeat)
    print(f"scoring {batch.height:,} declarations (features, P(fraud), revenue) against "
          f"{big.height:,} of history: {batch.height / best:,.0f} declarations/s "
          f"(median run {batch.height / median:,.0f}/s)")  # fmt: skip
    detector = ModelDetector(model)
    detector.model_ = model
    best, median = timed(lambda: detector.assess(batch), args.repeat)
    print(f"model detector on the same batch, SHAP reasons for its riskiest "
          f"{detector.explain_share:.0%}: {batch.height / best:,.0f} declarations/s "
          f"(median run {batch.height / median:,.0f}/s)")  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"peak memory {peak:.1f} GB")


if __name__ == "__main__":
    main()
