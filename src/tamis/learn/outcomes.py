"""Decisions against what inspection found: the ground routing and its detectors are judged on.

``decided_and_found`` gives each declaration's latest decision with every detector's score
(``<detector>__score``), its chance of being inspected and, where it was inspected, whether
it was a fraud and the revenue recovered. Estimates over the inspected ones weigh each by
the inverse of its chance of being inspected (a Hájek estimate): what was inspected because
it looked risky then counts once, a random pick for the many it stands for.
"""

from __future__ import annotations

import json

import polars as pl
from sqlalchemy import Engine, func, select

from tamis.route.capacity import INSPECTED
from tamis.route.combiner import hit_rules
from tamis.store.read import read_outcomes
from tamis.store.tables import decisions, declarations


def decided_and_found(engine: Engine) -> pl.DataFrame:
    """One row per decided declaration (its latest decision); ``fraud`` is null where it
    was not inspected."""
    latest = select(func.max(decisions.c.decision_id)).group_by(decisions.c.declaration_id)
    query = (
        select(
            decisions.c.declaration_id,
            declarations.c.office,
            declarations.c.lodged_at,
            decisions.c.channel,
            decisions.c.score,
            decisions.c.reasons,
            decisions.c.signals,
            decisions.c.random_selected,
            decisions.c.random_rate,
            decisions.c.selection_chance,
            decisions.c.combiner,
            decisions.c.revenue_at_stake_minor,
        )  # fmt: skip
        .join_from(
            decisions, declarations, decisions.c.declaration_id == declarations.c.declaration_id
        )
        .where(decisions.c.decision_id.in_(latest))
    )
    with engine.connect() as conn:
        decided = pl.read_database(query, conn, infer_schema_length=None)
    if decided.is_empty():
        return decided
    signals = decided["signals"].str.json_decode(infer_schema_length=None)
    names = [f.name for f in signals.dtype.fields]
    scores = signals.struct.unnest().select(
        pl.col(n).struct.field("score").cast(pl.Float64).alias(f"{n}__score") for n in names
    )
    found = (
        read_outcomes(engine)
        .group_by("declaration_id")
        .agg(
            (pl.col("result") == "non_compliant").any().alias("fraud"),
            pl.col("revenue_recovered").fill_null(0.0).sum(),
        )
    )
    # decided before selection chances were kept: chosen for its risk, else drawn at random
    chance = pl.coalesce(
        "selection_chance",
        pl.when(pl.col("channel").is_in(INSPECTED) & (pl.col("random_selected") == 0))
        .then(1.0)
        .otherwise(pl.col("random_rate")),
    )
    return (
        pl.concat([decided.drop("signals"), scores], how="horizontal")
        .with_columns(
            chance.alias("selection_chance"),
            (pl.col("revenue_at_stake_minor") / 100).alias("revenue_at_stake"),
        )
        .drop("revenue_at_stake_minor")
        .join(found, on="declaration_id", how="left")
    )


def weighted_rate(labelled: pl.DataFrame, mask: pl.Series | None = None) -> float | None:
    """P(fraud) among ``labelled`` (inspected) rows, or those of ``mask``, as a Hájek
    estimate over all declarations."""
    rows = labelled if mask is None else labelled.filter(mask)
    weight = 1 / rows["selection_chance"].clip(1e-6, 1.0)
    total = weight.sum()
    return None if total == 0 else float((weight * rows["fraud"].cast(pl.Float64)).sum() / total)


MIN_CONTROL = 30  # random picks inspected before their hit rate is the control's


def control_rate(labelled: pl.DataFrame) -> float | None:
    """The hit rate of the random control group (random picks inspected), or, with fewer
    than ``MIN_CONTROL`` of them, that of all declarations estimated from every inspection."""
    drawn = labelled.filter(pl.col("random_selected") == 1)
    if drawn.height >= MIN_CONTROL:
        return float(drawn["fraud"].cast(pl.Float64).mean())
    return weighted_rate(labelled)


def lift(labelled: pl.DataFrame, name: str, above: float = 0.0) -> dict:
    """What detector ``name``'s flags (score above ``above``) found among the inspected
    rows: how many, the frauds, the revenue recovered, the hit rate over all its flags and
    its lift over the random control group's."""
    flagged = labelled[f"{name}__score"].fill_null(0.0) > above
    rows = labelled.filter(flagged)
    rate, overall = weighted_rate(labelled, flagged), control_rate(labelled)
    return {
        "above": above,
        "inspected": rows.height,
        "frauds": int(rows["fraud"].sum()),
        "revenue": float(rows["revenue_recovered"].sum()),
        "hit_rate": rate,
        "lift": None if rate is None or not overall else rate / overall,
    }


def telling_lift(labelled: pl.DataFrame, name: str, steps: tuple[float, ...], enough: int):
    """``lift`` of ``name``'s flags at the step of its score that finds the most over the
    control group, among ``steps`` with at least ``enough`` inspected flags (else above the
    first step). A detector that scores every declaration (a model's probability) flags
    nothing by scoring above 0: what it is worth shows where its score is high."""
    found = [lift(labelled, name, step) for step in steps]
    judged = [f for f in found if f["inspected"] >= enough and f["lift"] is not None]
    return max(judged, key=lambda f: f["lift"]) if judged else found[0]


RULE = "rule:"  # prefix of a rule's flag column, beside the detectors' ``<name>__score``


def rule_flags(decided: pl.DataFrame) -> pl.DataFrame:
    """``rule:<id>__score``: 1.0 where the decision's reasons include a hit of rule <id>."""
    hits: dict[str, set[str]] = {}
    for declaration, text in decided.select("declaration_id", "reasons").iter_rows():
        for rule in hit_rules(json.loads(text or "[]")):
            hits.setdefault(rule, set()).add(declaration)
    ids = decided["declaration_id"]
    flags = [ids.is_in(list(hits[r])).cast(pl.Float64).alias(f"{RULE}{r}__score") for r in hits]
    return pl.DataFrame(sorted(flags, key=lambda f: f.name), height=ids.len())
