"""The detector contract, after scikit-learn's estimators: ``fit(history)``, ``assess(batch)``.

A *batch* is the flat canonical frame (one row per item, header fields repeated; money as
Decimal or float, see ``tamis.declarations``). ``assess`` returns one row per declaration
of the batch with the columns of ``SIGNAL_SCHEMA``:

- ``score``: risk in [0, 1];
- ``reasons``: each a code and its figures (``tamis.reasons``), said in words where read;
- ``revenue_at_stake``: duties and taxes at stake in national currency, null when unknown;
- ``forced_channel``: a channel the detector imposes (risk profiles may), else null.

Parameters go in ``__init__``; what ``fit`` learns is kept in attributes ending in ``_``.
A detector never reads another detector's output: routing combines them. ``assess`` writes
nothing: what a detector keeps of an assessment (the value references it used, watchlist
hits) it writes in ``record``, which assessment calls in the transaction that stores the
decisions. ``from_store(engine, context)`` builds it from what the store holds, or gives
None when the store lacks what it ``needs``.

A few declarations (a lodgement) come as ``ItemRows``, the same items as Python values: a
detector that can assess them in plain Python, far cheaper than Polars on a handful of
rows, overrides ``assess_rows`` (each declaration's signal as a dict by declaration id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Self

import polars as pl

from tamis.channels import RANK

SIGNAL_SCHEMA: dict[str, pl.DataType] = {
    "declaration_id": pl.String(),
    "score": pl.Float64(),
    "reasons": pl.List(pl.String()),
    "revenue_at_stake": pl.Float64(),
    "forced_channel": pl.String(),
}


@dataclass
class StoreContext:
    """What detectors built from one store share: each one's parameters (from the routing
    configuration), the active rule set, and the store's items read at most once."""

    engine: Any
    params: dict[str, dict] = field(default_factory=dict)
    rule_set: Any = None
    rule_set_version: int | None = None

    @cached_property
    def items(self) -> pl.DataFrame:
        from tamis.store.read import read_items

        return read_items(self.engine)

    def params_of(self, name: str) -> dict:
        return self.params.get(name, {})


class Detector:
    """What every detector is. ``labels`` names it for people, per language; ``needs`` says
    what the store must hold for ``from_store`` to build it; ``default_weight`` is its
    weight in routing when the routing configuration names it not."""

    name: ClassVar[str]
    labels: ClassVar[dict[str, str]]
    needs: ClassVar[str]
    default_weight: ClassVar[float] = 1.0

    @classmethod
    def from_store(cls, engine, context: StoreContext) -> Self | None:
        raise NotImplementedError

    def fit(self, history: pl.DataFrame) -> Self:
        return self

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        raise NotImplementedError

    def assess_rows(self, items: ItemRows) -> dict[str, dict]:
        return by_declaration(self.assess(items.frame))

    def plain(self) -> Any:
        """What ``assess_rows`` reads, built at its first use and kept (None for a detector
        without a plain path): a server builds it before its first lodgement."""
        return None

    def record(self, conn, batch: pl.DataFrame) -> pl.DataFrame | None:
        """Write what this detector keeps of the assessment of ``batch`` (nothing here)."""
        return None

    @classmethod
    def label(cls, language: str) -> str:
        return cls.labels.get(language) or cls.labels["en"]


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
