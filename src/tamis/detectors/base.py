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
"""

from __future__ import annotations

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

    The declaration's score is its riskiest item's; reasons are all items' reasons;
    revenue at stake is summed over items.
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
            pl.col("reasons").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls(),
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
