"""Watchlists as a detector: a hit adds its reason and, when the list says so, sends the
declaration to at least the list's channel. A watchlist adds no score: it watches, it does
not judge."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine

from tamis.cases.watchlists import FEW, Watchlist, all_watchlists, match, match_rows, record_hits
from tamis.channels import RANK
from tamis.detectors.base import SIGNAL_SCHEMA, Detector, ItemRows, StoreContext, by_declaration


class WatchlistDetector(Detector):
    name = "watchlist"
    labels = {"fr": "listes de surveillance", "en": "watchlists"}
    needs = "an active watchlist (tamis watchlist add)"

    def __init__(self, watchlists: list[Watchlist]) -> None:
        self.watchlists = watchlists

    @classmethod
    def from_store(cls, engine: Engine, context: StoreContext) -> WatchlistDetector | None:
        lists = all_watchlists(engine, active_only=True)
        return cls(lists) if lists else None

    def record(self, conn, batch: pl.DataFrame) -> pl.DataFrame:
        """Store the batch's new hits; its hits (cases open for them)."""
        return record_hits(conn, batch, self.watchlists)

    def assess_rows(self, items: ItemRows) -> dict[str, dict]:
        hits = match_rows(items.rows, self.watchlists) if len(items.rows) <= FEW else None
        if hits is None:
            return by_declaration(self.assess(items.frame))
        signals = {
            h["declaration_id"]: {"declaration_id": h["declaration_id"], "score": 0.0,
                                  "reasons": [], "revenue_at_stake": None, "forced_channel": None}
            for h in items.headers()
        }  # fmt: skip
        for hit in hits:
            signal = signals[hit["declaration_id"]]
            signal["reasons"].append(hit["reason"])
            signal["forced_channel"] = max(
                signal["forced_channel"], hit["route_channel"], key=lambda c: RANK.get(c, -1)
            )
        return signals

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        hits = (
            match(batch, self.watchlists)
            .group_by("declaration_id", maintain_order=True)  # each list's reason in order
            .agg(
                pl.col("reason").alias("reasons"),
                pl.col("route_channel")
                .sort_by(pl.col("route_channel").replace_strict(RANK, default=-1))
                .drop_nulls()
                .last()
                .alias("forced_channel"),
            )
        )
        return (
            batch.select("declaration_id")
            .unique(maintain_order=True)
            .join(hits, on="declaration_id", how="left")
            .with_columns(
                pl.lit(0.0).alias("score"),
                pl.col("reasons").fill_null([]),
                pl.lit(None, pl.Float64).alias("revenue_at_stake"),
            )
            .select(list(SIGNAL_SCHEMA))
            .cast(SIGNAL_SCHEMA)
        )
