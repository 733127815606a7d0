"""The detector contract, after scikit-learn's estimators: ``fit(history)``, ``assess(batch)``.

A *batch* is the flat canonical frame (one row per item, header fields repeated; money as
Decimal or float, see ``tamis.declarations``). ``assess`` returns one row per declaration
of the batch with the columns of ``SIGNAL_SCHEMA``:

- ``score``: risk in [0, 1];
- ``reasons``: human-readable, with the figures behind them;
- ``revenue_at_stake``: duties and taxes at stake in national currency, null when unknown;
- ``forced_channel``: a channel the detector imposes (risk profiles may), else null.

Parameters go in ``__init__``; what ``fit`` learns is kept in attributes ending in ``_``.
A detector never reads another detector's output: routing combines them.

A few declarations (a lodgement) come as ``ItemRows``, the same items as Python values: a
detector that can assess them in plain Python, far cheaper than Polars on a handful of
rows, has ``assess_rows`` giving each declaration's signal as a dict; the others get the
rows' frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Protocol, Self

import polars as pl

from tamis.channels import RANK

SIGNAL_SCHEMA: dict[str, pl.DataType] = {
    "declaration_id": pl.String(),
    "score": pl.Float64(),
    "reasons": pl.List(pl.String()),
    "revenue_at_stake": pl.Float64(),
    "forced_channel": pl.String(),
}


class Detector(Protocol):
    name: str

    def fit(self, history: pl.DataFrame) -> Self: ...

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame: ...


@dataclass
class ItemRows:
    """Checked canonical items of a few declarations as Python values, and their schema."""

    rows: list[dict]
    schema: pl.Schema

    @cached_property
    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.rows, schema=self.schema, orient="row")

    def headers(self) -> list[dict]:
        """Each declaration's first item, in order."""
        first: dict[str, dict] = {}
        for row in self.rows:
            first.setdefault(row["declaration_id"], row)
        return list(first.values())


def signals_of_rows(detector: Detector, items: ItemRows) -> dict[str, dict]:
    """The detector's signal of each declaration of ``items``, by declaration id."""
    if (plain := getattr(detector, "assess_rows", None)) is not None:
        return plain(items)
    return by_declaration(detector.assess(items.frame))


def by_declaration(signals: pl.DataFrame) -> dict[str, dict]:
    return {r["declaration_id"]: r for r in signals.iter_rows(named=True)}


def empty_signals() -> pl.DataFrame:
    return pl.DataFrame(schema=SIGNAL_SCHEMA)


def per_declaration(
    items: pl.DataFrame,
    score: pl.Expr,
    reasons: pl.Expr,
    revenue_at_stake: pl.Expr | None = None,
    forced_channel: pl.Expr | None = None,
) -> pl.DataFrame:
    """Fold item-level expressions into one signal row per declaration.

    The declaration's score is its riskiest item's; reasons are all items' reasons, each
    said once (a header criterion hits every item alike); revenue at stake is summed over
    items.
    """
    null = pl.lit(None)
    frame = items.select(
        "declaration_id",
        score.cast(pl.Float64).clip(0.0, 1.0).alias("score"),
        reasons.cast(pl.List(pl.String)).alias("reasons"),
        (revenue_at_stake if revenue_at_stake is not None else null).cast(pl.Float64).alias("r"),
        (forced_channel if forced_channel is not None else null).cast(pl.String).alias("f"),
    )
    return (
        frame.group_by("declaration_id", maintain_order=True)
        .agg(
            pl.col("score").max(),
            pl.col("reasons")
            .list.explode(keep_nulls=False, empty_as_null=False)
            .drop_nulls()
            .unique(maintain_order=True),
            pl.col("r").sum().alias("revenue_at_stake")
            if revenue_at_stake is not None
            else pl.lit(None, pl.Float64).alias("revenue_at_stake"),
            pl.col("f")
            .sort_by(pl.col("f").replace_strict(RANK, default=-1))
            .drop_nulls()
            .last()
            .alias("forced_channel")
            if forced_channel is not None
            else pl.lit(None, pl.String).alias("forced_channel"),
        )
        .select(list(SIGNAL_SCHEMA))
        .cast(SIGNAL_SCHEMA)
    )


def signals_for(batch: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """One signal per declaration of ``batch`` from ``found`` (declaration_id, score,
    reason, revenue_at_stake; several rows per declaration allowed)."""
    everyone = (
        batch.select("declaration_id")
        .unique(maintain_order=True)
        .join(found, on="declaration_id", how="left")
    )
    return per_declaration(
        everyone,
        pl.col("score").fill_null(0.0),
        pl.concat_list(pl.col("reason")),
        pl.col("revenue_at_stake").fill_null(0.0),
    )
