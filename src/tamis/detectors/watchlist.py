"""Watchlists as a detector: a hit adds its reason and, when the list says so, sends the
declaration to at least the list's channel. A watchlist adds no score: it watches, it does
not judge."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine

from tamis.cases.watchlists import Watchlist, all_watchlists, match, record_hits
from tamis.channels import RANK
from tamis.detectors.base import SIGNAL_SCHEMA, Detector, StoreContext


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

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        hits = (
            match(batch, self.watchlists)
            .group_by("declaration_id")
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
