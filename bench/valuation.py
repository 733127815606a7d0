"""Value control on the synthetic year, end to end: synth → ingest → build → assess.

Prints precision and recall of planted under-valuation at the default threshold, and the
share of planted valuation revenue caught in the top 5 % of declarations ranked by the
detector's expected revenue (score × revenue at stake); then times the columnar build
(histogram + references) on a large frame.

    .venv/bin/python bench/valuation.py [--declarations 100000] [--build-items 10000000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

from tamis import synth
from tamis.detectors.valuation import ValuationDetector
from tamis.ingest import ingest
from tamis.store import open_store
from tamis.store.read import read_items
from tamis.valuation import database
from tamis.valuation import reference as ref


def timed(label: str, action):
    started = time.perf_counter()
    result = action()
    print(f"{label:<28} {time.perf_counter() - started:8.1f} s")
    return result


def quality(declarations: int, seed: int, top_share: float) -> None:
    year = timed("synth", lambda: synth.generate(declarations, seed))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "year.parquet"
        synth.write(year, path)
        engine = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        timed("ingest (SQLite)", lambda: ingest(path, "canonical", engine))
        summary = timed("build (store, 12 months)", lambda: database.build(engine))
        detector = ValuationDetector.from_store(engine)
        detector.engine = None  # a benchmark is not a decision: no use to log
        items = timed("read items", lambda: read_items(engine))
        signals = timed("assess", lambda: detector.assess(items))
        engine.dispose()
    print(f"references: {summary.references:,} over {summary.window}")

    truth = year.items.group_by("declaration_id").agg(
        (pl.col("fraud_type") == "valuation").any().alias("valuation"),
        pl.col("fraud").any().alias("fraud"),
        pl.col("revenue_at_stake")
        .filter(pl.col("fraud_type") == "valuation")
        .cast(pl.Float64)
        .sum()
        .alias("planted"),
    )
    frame = signals.join(truth, on="declaration_id").with_columns(
        (pl.col("score") >= detector.threshold).alias("flagged"),
        (pl.col("score") * pl.col("revenue_at_stake").fill_null(0)).alias("expected"),
    )
    flagged, planted = frame.filter("flagged"), frame.filter("valuation")
    hits = flagged.filter("valuation").height
    top = frame.sort("expected", descending=True).head(int(top_share * frame.height))
    by_score = frame.sort("score", descending=True).head(int(top_share * frame.height))
    total = planted["planted"].sum()
    print(f"declarations {frame.height:,}; planted under-valuation {planted.height:,}")
    print(f"flagged at score ≥ {detector.threshold}: {flagged.height:,}")
    print(f"precision (under-valuation)  {hits / max(flagged.height, 1):.3f}")
    print(f"precision (any planted fraud) {flagged['fraud'].mean() or 0:.3f}")
    print(f"recall (under-valuation)     {hits / max(planted.height, 1):.3f}")
    caught, caught_by_score = top["planted"].sum() / total, by_score["planted"].sum() / total
    print(
        f"planted valuation revenue in top {top_share:.0%} by expected revenue: "
        f"{caught:.3f} (by score alone: {caught_by_score:.3f})"
    )


def build_speed(items: int, seed: int) -> None:
    """The columnar build on ``items`` items: the synthetic year tiled, prices jittered."""
    base = synth.generate(60_000, seed).items.select(
        "lodged_at", "hs_code", "origin_country", "quantity", "quantity_unit", "net_mass_kg",
        pl.col("customs_value").cast(pl.Float64),
    )  # fmt: skip
    copies = -(-items // base.height)
    rng = np.random.default_rng(seed)
    big = pl.concat([base] * copies).head(items)
    big = big.with_columns(pl.col("customs_value") * rng.lognormal(0, 0.05, big.height))
    print(f"build on {big.height:,} items ({big.estimated_size('mb'):,.0f} MB in memory)")
    hist = timed("  histogram", lambda: ref.histogram(big))
    refs = timed("  references", lambda: ref.references(hist))
    print(f"  {hist.height:,} histogram rows, {refs.height:,} references")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--declarations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--top", type=float, default=0.05)
    parser.add_argument("--build-items", type=int, default=10_000_000)
    args = parser.parse_args()
    quality(args.declarations, args.seed, args.top)
    if args.build_items:
        build_speed(args.build_items, args.seed)


if __name__ == "__main__":
    main()
