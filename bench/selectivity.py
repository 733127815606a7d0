"""Selectivity benchmark: what the whole flow sends to inspection and what that finds, on a
synthetic year of any seed with every detector on, against the year's planted ground truth.

    python bench/selectivity.py --seed 1 [--declarations 20000] [--routing fixed,learnt]
                                [--capacity 0.10] [--json]

For each routing variant, on a fresh SQLite store and the same data: the seed's synthetic
year and its four other sources are ingested and their parties resolved into entities. Then
three stages by lodgement date, each assessed with every detector the store supports,
recorded and inspected (what routing sends orange or red, plus the random picks; the
results read from the planted truth); after A and B, network risk is rebuilt from the known
offenders:

- A, January to March: value references from those months; a model is trained on A's
  results (the first registered is the active one);
- B, April to June: references rebuilt up to June, the model on; then, in the "learnt"
  variant only, the routing combiner is learnt from the store;
- C, July to December, assessed by an assessor built afresh from the store: the evaluation.

"fixed" is today's routing configuration; "learnt" the same plus the learnt combiner.
Routing's random draws come from the seed, so both variants pick the same declarations at
random (the model's exploratory picks still draw from the operating system).

Figures on stage C, per declaration (a fraud: any item with planted fraud): the share sent
orange or red, the precision (frauds among them), the revenue (planted fraud revenue of the
frauds among them / all of stage C's), each channel's share, the random share; and each
stage's wall time. Progress goes to stderr, figures to stdout; with --json the last line of
stdout is {"share", "precision", "revenue"} of the learnt variant (or of the only one run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from tamis import synth
from tamis.assess import assessor_from_store, record
from tamis.channels import CHANNELS
from tamis.ingest import ingest
from tamis.inspections import record_outcomes, simulated_results
from tamis.intel import network
from tamis.intel.ingest import ingest_source
from tamis.intel.resolve import resolve
from tamis.learn import registry
from tamis.learn.combiner import train as train_combiner
from tamis.learn.train import train_from_store
from tamis.route import RoutingConfig, load_routing
from tamis.route.capacity import ANY_OFFICE, Budget, Capacity
from tamis.store import open_store
from tamis.store.read import read_items
from tamis.valuation import database as valuation

VARIANTS = ("fixed", "capped", "learnt")
STAGES = {"A": (0, 3), "B": (3, 6), "C": (6, 12)}  # months of the year, [from, to)


def routing_for(
    variant: str, capacity: float, rank_by: str | None = None, period: str | None = None
) -> RoutingConfig:
    """The routing configuration of ``variant``: "fixed", today's fixed weights and
    thresholds, no capacity; "capped", the same within a ``capacity`` share of each office's
    day for inspection (red 40 % of it, orange 60 %) and as much again for documents;
    "learnt", the default configuration (a combination learnt from results) so capped."""
    default = load_routing()
    if variant == "fixed":
        return default.model_copy(update={"combine": "weights", "capacity": Capacity()})
    budgets = {"red": Budget(share=0.4 * capacity), "orange": Budget(share=0.6 * capacity),
               "yellow": Budget(share=capacity)}  # fmt: skip
    chosen = {"rank_by": rank_by, "period": period}
    capped = default.capacity.model_copy(
        update={"offices": {ANY_OFFICE: budgets}} | {k: v for k, v in chosen.items() if v}
    )
    combine = "learnt" if variant == "learnt" else "weights"
    return default.model_copy(update={"combine": combine, "capacity": capped})


def month(k: int) -> datetime:
    """The first day of the synthetic year's k-th month (0: January), as a lodgement time."""
    return datetime(2025 + k // 12, 1 + k % 12, 1)


@contextmanager
def step(what: str, times: dict[str, float] | None = None):
    """Say on stderr what runs and how long it took; keep the time in ``times[what]``."""
    print(f"{what} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    yield
    seconds = time.perf_counter() - started
    if times is not None:
        times[what] = seconds
    print(f"{what}: {seconds:.1f} s", file=sys.stderr, flush=True)


def setup(engine, year: Path) -> None:
    """The year's declarations and other sources in the store, parties resolved."""
    with step("  ingest declarations"):
        ingest(year, "canonical", engine)
    for source in synth.Synthetic.SOURCES:
        with step(f"  ingest {source}"):
            ingest_source(year.with_name(f"{year.stem}.{source}{year.suffix}"), source, engine)
    with step("  resolve entities"):
        resolve(engine)


def stage(engine, routing: RoutingConfig, name: str, truth: pl.DataFrame, rng) -> pl.DataFrame:
    """Assess and record the stage's declarations with every detector the store supports,
    inspect what routing sends to inspection; the decisions."""
    first, end = STAGES[name]
    if name != "C":  # C is judged with B's references, as a new process would find them
        with step("  value references"):
            valuation.build(engine, window_months=12, until=month(end).date())
    with step("  assessor from the store"):
        assessor = assessor_from_store(engine, routing)
    print(f"  detectors: {', '.join(d.name for d in assessor.detectors)}", file=sys.stderr)
    batch = read_items(engine, month(first), month(end))
    with step(f"  assess and record {batch['declaration_id'].n_unique():,} declarations"):
        decided = assessor.assess(batch, rng.random(batch["declaration_id"].n_unique()))
        record(engine, decided, "batch", assessor, batch)
    with step("  inspect"):
        record_outcomes(engine, simulated_results(decided, truth, truth))
    if name != "C":
        with step("  network risk from the known offenders"):
            network.build(engine)
    return decided


def run(variant: str, args, year: Path, truth: pl.DataFrame) -> tuple[dict, dict]:
    """The whole flow on a fresh store: (figures on stage C, wall time of each stage)."""
    url = f"sqlite:///{year.parent / f'{variant}.db'}"
    os.environ["TAMIS_DATABASE_URL"] = url  # for anything that opens the store itself
    engine = open_store(url)
    routing = routing_for(variant, args.capacity, args.rank_by, args.period)
    rng = np.random.default_rng(args.seed)
    times: dict[str, float] = {}
    with step(f"{variant}: setup", times):
        setup(engine, year)
    with step(f"{variant}: stage A", times):
        stage(engine, routing, "A", truth, rng)
        with step("  train a model"):
            version, metrics = train_from_store(engine, comment="selectivity benchmark")
        print(f"  model {version}: holdout {metrics}", file=sys.stderr)
    with step(f"{variant}: stage B", times):
        stage(engine, routing, "B", truth, rng)
        with step("  train the model again, on every result so far"):
            version, metrics = train_from_store(engine, comment="selectivity benchmark")
            registry.promote(engine, version, actor="benchmark", reason="results of A and B")
        print(f"  model {version}: holdout {metrics}", file=sys.stderr)
        if variant == "learnt":
            with step("  learn the routing combiner"):
                version = train_combiner(engine)
            print(f"  combiner {version}", file=sys.stderr)
    with step(f"{variant}: stage C", times):
        decided = stage(engine, routing, "C", truth, rng)
    engine.dispose()
    if args.keep:
        decided.drop("signals", strict=False).write_parquet(year.with_name(f"{variant}.c.parquet"))
    return figures(decided, truth, args.capacity), {k.split(": ")[1]: v for k, v in times.items()}


def figures(decided: pl.DataFrame, truth: pl.DataFrame, capacity: float) -> dict[str, float]:
    """Stage C's figures; "ceiling": those of the top ``capacity`` share of the stage by the
    combined score (or by expected revenue: score x the detectors' revenue at stake), what
    routing could find with budgets over the whole half-year and the whole country."""
    planted = truth.group_by("declaration_id").agg(
        pl.col("fraud").any(), pl.col("revenue_at_stake").cast(pl.Float64).sum()
    )
    found = decided.select(
        "declaration_id", "channel", "random_selected", "score",
        pl.col("revenue_at_stake").alias("revenue_at_stake_estimated"),
    ).join(planted, on="declaration_id", how="left")  # fmt: skip
    revenue = found.filter("fraud")["revenue_at_stake"].sum()

    def caught(sent: pl.DataFrame) -> tuple[float, float]:
        precision = sent["fraud"].mean() if sent.height else 0.0
        held = sent.filter("fraud")["revenue_at_stake"].sum()
        return precision, held / revenue if revenue else 0.0

    sent = found.filter(pl.col("channel").is_in(["orange", "red"]))
    precision, caught_revenue = caught(sent)
    top = round(capacity * found.height)
    top_precision, top_revenue = caught(found.top_k(top, by="score"))
    expected = pl.col("score") * pl.col("revenue_at_stake_estimated").fill_null(0.0)
    by_revenue = caught(found.with_columns(__expected=expected).top_k(top, by="__expected"))
    return {
        "declarations": found.height,
        "share": sent.height / found.height,
        "precision": precision,
        "revenue": caught_revenue,
        **{c: (found["channel"] == c).mean() for c in CHANNELS},
        "random": found["random_selected"].mean(),
        "ceiling precision": top_precision,
        "ceiling revenue": top_revenue,
        "ceiling precision (expected revenue)": by_revenue[0],
        "ceiling revenue (expected revenue)": by_revenue[1],
    }


def table(results: dict[str, tuple[dict, dict]]) -> str:
    variants = list(results)
    lines = [f"{'stage C':<38}" + "".join(f"{v:>12}" for v in variants)]
    for key in results[variants[0]][0]:
        label = {"share": "orange + red", "random": "random picks"}.get(key, key)
        values = [results[v][0][key] for v in variants]
        cells = [f"{x:>12,}" if key == "declarations" else f"{x:>12.3f}" for x in values]
        lines.append(f"{label:<38}" + "".join(cells))
    for key in results[variants[0]][1]:
        cells = [f"{results[v][1][key]:>12.1f}" for v in variants]
        lines.append(f"{key + ' (s)':<38}" + "".join(cells))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--declarations", type=int, default=20_000)
    parser.add_argument(
        "--routing", default=",".join(VARIANTS), help="some of fixed, capped, learnt"
    )
    parser.add_argument("--period", choices=["day", "week"],
                        help="what each office's budget is counted over (default: the "
                             "routing configuration's)")  # fmt: skip
    parser.add_argument("--keep", help="a folder to keep the stores and year in, to look at")
    parser.add_argument("--capacity", type=float, default=0.10, help="share inspected")
    parser.add_argument("--rank-by", choices=["score", "expected_revenue", "both"],
                        help="what spends each budget first (default: the routing "
                             "configuration's)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="last line: the figures as JSON")
    args = parser.parse_args()
    variants = args.routing.split(",")
    if not variants or set(variants) - set(VARIANTS):
        parser.error(f"--routing {args.routing!r}: expected some of {', '.join(VARIANTS)}")
    with tempfile.TemporaryDirectory() if args.keep is None else nullcontext(args.keep) as folder:
        os.environ["TAMIS_ATTACHMENTS_DIR"] = str(Path(folder) / "attachments")
        year = Path(folder) / "year.parquet"
        with step(f"synthetic year: {args.declarations:,} declarations, seed {args.seed}"):
            data = synth.generate(args.declarations, args.seed, start=date(2025, 1, 1), days=365)
            synth.write(data, year)
        truth = data.items.select(
            "declaration_id", "lodged_at", "fraud", "fraud_type", "revenue_at_stake"
        )
        results = {v: run(v, args, year, truth) for v in variants}
    print(f"seed {args.seed}, {args.declarations:,} declarations")
    print(table(results))
    if args.json:
        chosen = results["learnt" if "learnt" in results else variants[0]][0]
        print(json.dumps({k: round(chosen[k], 4) for k in ("share", "precision", "revenue")}))


if __name__ == "__main__":
    main()
