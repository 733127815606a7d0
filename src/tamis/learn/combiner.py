"""Routing's combination of detectors, learnt from inspection results (``tamis.route.combiner``
applies it).

Each decision keeps every detector's signal, so the decisions whose declaration was
inspected are a training set: detectors' scores (as the steps they clear) and the revenue at
stake against what the inspection found. Most of them were inspected *because* a detector
flagged them, so each is weighted by the inverse of its chance of being inspected
(``selection_chance``: 1 when chosen for its risk, the random rate for a random pick),
clipped at ``max_weight``: the random control group and exploratory picks stand for all the
declarations nothing flagged. A detector that only looks good because what it flags is
inspected more is then not rewarded.

A detector whose lift (its flags' hit rate, so weighted, over the random control group's)
stays under ``lift_floor`` gets no weight, and a rule so judged adds nothing to the rules'
score (``rules_cut``; it still says when it hits and still forces its channel): the report
says why (``tamis.learn.detector_report``). With
too few results, nothing is learnt: routing keeps its fixed weights.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
from sqlalchemy import Engine

from tamis.learn import registry
from tamis.learn.outcomes import RULE, decided_and_found, rule_flags, telling_lift
from tamis.route import RoutingConfig, load_routing
from tamis.route.combiner import STEPS, Combiner, Learning

KIND = "routing"


def features(frame: pl.DataFrame, names: list[str]) -> np.ndarray:
    """Each detector's score as the steps it clears, whether it was absent, and ln(1 +
    revenue at stake). A decision made before a detector was in use has no score of it,
    not a score of 0: were it counted as 0, the frauds found before a model was trained
    would teach that every score of the model means less fraud."""
    steps = [frame[f"{n}__score"].fill_null(0.0).to_numpy() > s for n in names for s in STEPS]
    absent = [frame[f"{n}__score"].is_null().to_numpy() for n in names]
    revenue = np.log1p(frame["revenue_at_stake"].fill_null(0.0).clip(0.0).to_numpy())
    return np.column_stack([*steps, *absent, revenue]).astype(float)


def under_floor(labelled: pl.DataFrame, names: list[str], learning: Learning) -> dict:
    """Of ``names`` (detectors, or ``rule:<id>`` flags), those whose lift stays under the
    floor once enough of their flags were inspected: name -> its lift and the floor."""
    found = {name: telling_lift(labelled, name, STEPS, learning.min_flagged) for name in names}
    return below_floor(found, learning)


def below_floor(found: dict[str, dict], learning: Learning) -> dict:
    """``under_floor`` of lifts already worked out (name -> ``telling_lift``)."""
    return {
        name: {"lift": f["lift"], "floor": learning.lift_floor}
        for name, f in found.items()
        if f["inspected"] >= learning.min_flagged
        and f["lift"] is not None
        and f["lift"] < learning.lift_floor
    }


def fit(
    labelled: pl.DataFrame, names: list[str], learning: Learning, rules: list[str] | None = None
) -> tuple[Combiner, dict]:
    """The combination over ``names`` and the hits of ``rules`` (``rule:<id>`` columns of
    ``labelled``, as ``rule_flags`` gives them) fitted on ``labelled`` (``decided_and_found``'s
    inspected rows), and per detector left out, why."""
    from sklearn.linear_model import LogisticRegression

    weight = (1 / labelled["selection_chance"]).clip(1.0, learning.max_weight).to_numpy()
    fraud = labelled["fraud"].to_numpy()
    left_out = under_floor(labelled, names, learning)
    kept = [n for n in names if n not in left_out]
    x = features(labelled, kept)
    rules = rules or []
    hits = [labelled[f"{r}__score"].fill_null(0.0).to_numpy() > 0 for r in rules]
    model = LogisticRegression(C=1.0, max_iter=5000).fit(
        np.column_stack([x, *hits]).astype(float), fraud, sample_weight=weight
    )
    coef = model.coef_[0]
    terms = {n: [float(c) for c in coef[i * len(STEPS) : (i + 1) * len(STEPS)]]
             for i, n in enumerate(kept)}  # fmt: skip
    terms |= {n: [0.0] * len(STEPS) for n in left_out}
    after_steps = len(kept) * len(STEPS)
    absent = {n: float(coef[after_steps + i]) for i, n in enumerate(kept)}
    revenue = float(coef[x.shape[1] - 1])
    by_rule = {
        r.removeprefix(RULE): float(c) for r, c in zip(rules, coef[x.shape[1] :], strict=True)
    }
    combiner = Combiner(version=0, intercept=float(model.intercept_[0]), terms=terms,
                        absent=absent, revenue=revenue, rules=by_rule)  # fmt: skip
    return combiner, left_out


def train(engine: Engine, learning: Learning | None = None, comment: str | None = None):
    """Fit the combination on the store's inspected decisions and register it (active if
    none is); its version, or None with too few results to learn from. Each rule whose hits
    were inspected often enough is a term of its own, unless its lift stays under the floor
    (then it adds nothing to the rules' score either: ``rules_cut``)."""
    learning = learning or load_routing().learn
    decided = decided_and_found(engine)
    labelled = decided.filter(pl.col("fraud").is_not_null())
    frauds = int(labelled["fraud"].sum()) if labelled.height else 0
    if labelled.height < learning.min_results or frauds < learning.min_frauds:
        return None
    names = sorted(c.removesuffix("__score") for c in decided.columns if c.endswith("__score"))
    flags = rule_flags(labelled)
    flagged = pl.concat([labelled, flags], how="horizontal")
    rules = [c.removesuffix("__score") for c in flags.columns]
    rules_cut = under_floor(flagged, rules, learning)
    judged = [r for r in rules if r not in rules_cut
              and int((flagged[f"{r}__score"] > 0).sum()) >= learning.min_rule_hits]  # fmt: skip
    combiner, left_out = fit(flagged, names, learning, judged)
    combiner.rules_cut = {name.removeprefix(RULE): why for name, why in rules_cut.items()}
    metrics = {"left_out": left_out, "inspected": labelled.height, "frauds": frauds}
    lineage = labelled.select(
        "declaration_id", pl.lit(None, pl.Int64).alias("item_number"), "lodged_at", "fraud"
    )
    text = combiner.model_dump_json(exclude={"version"})
    return registry.save_text(
        engine, KIND, text, names, lineage, metrics, comment, params=learning.model_dump()
    )


def active(engine: Engine) -> Combiner | None:
    """The active learnt combination, or None."""
    row = registry.active_row(engine, KIND)
    if row is None:
        return None
    return Combiner.model_validate(json.loads(row["booster"]) | {"version": row["version"]})


def routing_in_force(engine: Engine, routing: RoutingConfig | None = None) -> RoutingConfig:
    """``routing`` (default: the configuration's) with the store's active learnt
    combination where it asks for one."""
    routing = routing or load_routing()
    if routing.combine == "learnt" and routing.combiner is None:
        routing = routing.model_copy(update={"combiner": active(engine)})
    return routing
