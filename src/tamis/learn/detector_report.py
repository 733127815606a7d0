"""What each detector and each rule finds, judged on inspection results.

One row per detector and per rule (a rule flags the declarations whose reasons include its
``rules.hit``; a detector those its score is above ``above`` for), over every declaration's
latest decision (``tamis.learn.outcomes``):

- ``above``: the step of the score (0, 0.25, 0.5 or 0.75) at which what it flags finds the
  most over the random control group (``telling_lift``): 0 for most, higher for a detector
  that scores every declaration, as a model's probability does;
- ``flagged``: declarations it flagged; ``flagged_share``: their share of all decided;
- ``inspected``: of those, the ones inspected; ``frauds``: found non-compliant among them;
- ``hit_rate``: the share of all its flags estimated fraudulent, each inspected one weighed
  by the inverse of its chance of being inspected (what was inspected for its risk counts
  once, a random pick for the many it stands for);
- ``revenue``: revenue recovered from its inspected flags;
- ``lift``: its hit rate over the random control group's (1: no better than chance);
- ``marginal`` (detectors only): what routing loses without it: revenue recovered among the
  top ``share`` of all decisions ranked by the combined score, estimated with the same
  weights, minus the same with its signal left out;
- ``status``: ``kept``; ``no weight``: the learnt combination in force left it out, its
  lift being under the learning floor; ``watch``: its lift is under the floor once enough
  of its flags were inspected, but nothing has cut its weight yet (fixed weights, a rule,
  or a combination learnt before).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from sqlalchemy import Engine

from tamis.learn import registry
from tamis.learn.combiner import KIND, Learning, below_floor
from tamis.learn.outcomes import RULE, decided_and_found, rule_flags, telling_lift
from tamis.route import RoutingConfig, route
from tamis.route.capacity import Capacity
from tamis.route.combiner import STEPS

DEFAULT_SHARE = 0.10  # of decisions inspected, where no orange or red budget says


def inspected_share(routing: RoutingConfig) -> float:
    """The share of decisions sent to inspection: the orange and red budgets of any office."""
    budgets = routing.capacity.budgets("*")
    share = sum(budgets[c].share or 0.0 for c in ("orange", "red") if c in budgets)
    return share or DEFAULT_SHARE


SCHEMA = {
    "kind": pl.String, "name": pl.String, "above": pl.Float64, "flagged": pl.Int64,
    "flagged_share": pl.Float64, "inspected": pl.Int64, "frauds": pl.Int64,
    "hit_rate": pl.Float64, "revenue": pl.Float64, "lift": pl.Float64, "marginal": pl.Float64,
    "status": pl.String,
}  # fmt: skip


def _top_revenue(decided: pl.DataFrame, scores: pl.Series, share: float) -> float:
    """IPW revenue recovered among the top ``share`` of ``decided`` ranked by ``scores``."""
    k = math.ceil(share * decided.height)
    top = decided.with_columns(scores.alias("__s")).sort(
        ["__s", "declaration_id"], descending=[True, False]
    )
    top = top.head(k).filter(pl.col("fraud").is_not_null())
    weight = 1 / top["selection_chance"].clip(1e-6, 1.0)
    return float((weight * top["revenue_recovered"].fill_null(0.0)).sum())


def _marginals(decided: pl.DataFrame, names: list[str], routing: RoutingConfig, share: float):
    """Per detector, the top ``share``'s revenue with all detectors minus without it."""
    header = decided.select(
        "declaration_id", "lodged_at", "office", pl.lit(None, pl.String).alias("procedure")
    )
    signals = {
        n: decided.select(
            "declaration_id",
            pl.col(f"{n}__score").alias("score"),
            pl.lit([], pl.List(pl.String)).alias("reasons"),
            pl.col("revenue_at_stake").cast(pl.Float64),
            pl.lit(None, pl.String).alias("forced_channel"),
        )
        for n in names
    }
    config = routing.model_copy(update={"capacity": Capacity()})  # scores only: no budgets
    ones = np.ones(decided.height)

    def scores(used: dict) -> pl.Series:
        routed = route(header, used, config, ones).select("declaration_id", "score")
        return decided.select("declaration_id").join(routed, on="declaration_id", how="left")[
            "score"
        ]

    everything = _top_revenue(decided, scores(signals), share)
    marginal = {}
    for n in names:
        without = scores({m: signals[m] for m in names if m != n})
        marginal[n] = everything - _top_revenue(decided, without, share)
    return marginal


def _left_out(engine: Engine, routing: RoutingConfig) -> dict:
    """The detectors and rules the learnt combination in force gave no weight, and why."""
    if routing.combiner is None:
        return {}
    rules = {f"{RULE}{rule}": why for rule, why in routing.combiner.rules_cut.items()}
    for row in registry.list_models(engine, KIND):
        if row["version"] == routing.combiner.version:
            return row["metrics"].get("left_out", {}) | rules
    return rules


def report(
    engine: Engine, routing: RoutingConfig, share: float = 0.10, learning: Learning | None = None
) -> pl.DataFrame:
    """One row per detector and per rule (see the module's docstring); ``learning``: whose
    floor judges lift (default: the routing configuration's ``learn``)."""
    learning = learning or routing.learn
    decided = decided_and_found(engine)
    if decided.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    names = sorted(c.removesuffix("__score") for c in decided.columns if c.endswith("__score"))
    rules = rule_flags(decided)
    decided = pl.concat([decided, rules], how="horizontal")
    labelled = decided.filter(pl.col("fraud").is_not_null())
    marginal = _marginals(decided, names, routing, share)
    left_out = _left_out(engine, routing)
    judged = [("detector", n) for n in names] + [
        ("rule", c.removesuffix("__score")) for c in rules.columns
    ]
    lifts = {name: telling_lift(labelled, name, STEPS, learning.min_flagged)
             for _, name in judged}  # fmt: skip
    watched = below_floor(lifts, learning)
    rows = []
    for kind, name in judged:
        found = lifts[name]
        flagged = int((decided[f"{name}__score"].fill_null(0.0) > found["above"]).sum())
        status = "kept"
        if name in left_out:
            why = left_out[name]
            status = f"no weight: lift {why['lift']:.2f} under floor {why['floor']:.2f}"
        elif name in watched:
            status = f"watch: lift {found['lift']:.2f} under floor {learning.lift_floor:.2f}"
        rows.append(
            found
            | {
                "kind": kind,
                "name": name.removeprefix(RULE),
                "flagged": flagged,
                "flagged_share": flagged / decided.height,
                "marginal": marginal.get(name),
                "status": status,
            }
        )
    return pl.DataFrame(rows, schema=SCHEMA)
