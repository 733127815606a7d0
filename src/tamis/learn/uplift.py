"""Uplift: each detector's hit rate and revenue against the random-selection control group.

A declaration counts for a detector when the detector's signal in the recorded decision
scored at least ``FLAGGED`` or forced a channel; a channel forced to explore (the model's
exploratory picks) counts in a group of its own, "<detector> exploration". The control
group is the declarations picked by the random share of routing: their hit rate is what
inspecting without any targeting finds. Only inspected declarations (with an outcome) count.
"""

from __future__ import annotations

import json

import polars as pl
from sqlalchemy import Engine, select

from tamis.detectors.model import EXPLORATION
from tamis.reasons import code_of
from tamis.store.read import read_outcomes
from tamis.store.tables import decisions

FLAGGED = 0.5
CONTROL = "random control"


def uplift(decided: pl.DataFrame, outcomes: pl.DataFrame) -> pl.DataFrame:
    """``decided``: declaration_id, signals (JSON), random_selected (latest decision each);
    ``outcomes``: declaration_id, result, revenue_recovered. One row per detector + control."""
    per_declaration = outcomes.group_by("declaration_id").agg(
        (pl.col("result") == "non_compliant").any().alias("fraud"),
        pl.col("revenue_recovered").cast(pl.Float64).fill_null(0.0).sum().alias("revenue"),
    )
    inspected = decided.join(per_declaration, on="declaration_id", how="inner")
    if inspected.is_empty():
        raise ValueError("no recorded decision has an inspection outcome yet: nothing to compare")
    groups: dict[str, list[bool]] = {
        CONTROL: inspected["random_selected"].cast(pl.Boolean).to_list()
    }
    for i, text in enumerate(inspected["signals"]):
        for name, signal in json.loads(text).items():
            explored = any(_exploratory(r) for r in signal.get("reasons") or [])
            forced = bool(signal.get("forced_channel")) and not explored
            flagged = (signal.get("score") or 0) >= FLAGGED or forced
            groups.setdefault(name, [False] * inspected.height)[i] = flagged
            if explored:
                groups.setdefault(f"{name} exploration", [False] * inspected.height)[i] = True
    rows = [
        inspected.filter(pl.Series(mask)).select(
            pl.lit(name).alias("group"),
            pl.len().alias("inspected"),
            pl.col("fraud").sum().alias("frauds"),
            pl.col("fraud").mean().alias("hit_rate"),
            pl.col("revenue").sum().alias("revenue_recovered"),
        )
        for name, mask in groups.items()
    ]
    table = pl.concat(rows)
    control = table.filter(pl.col("group") == CONTROL)["hit_rate"][0]  # null: no random pick
    return table.with_columns((pl.col("hit_rate") / control).alias("lift_vs_control"))


def _exploratory(stored: str) -> bool:
    """An exploratory pick's reason: coded, or as written before codes existed."""
    code = code_of(stored)
    return stored.startswith("exploration") if code is None else code.startswith(EXPLORATION)


def store_uplift(engine: Engine) -> pl.DataFrame:
    """``uplift`` on the store's latest decision per declaration and its outcomes."""
    query = select(decisions.c.decision_id, decisions.c.declaration_id, decisions.c.signals,
                   decisions.c.random_selected)  # fmt: skip
    with engine.connect() as conn:
        decided = pl.read_database(
            query, conn, schema_overrides={"declaration_id": pl.String, "signals": pl.String}
        )
    latest = decided.sort("decision_id").unique("declaration_id", keep="last")
    return uplift(latest, read_outcomes(engine))
