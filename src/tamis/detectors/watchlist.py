"""Watchlists as a detector: a hit adds its reason and, when the list says so, sends the
declaration to at least the list's channel. A watchlist adds no score: it watches, it does
not judge."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

import polars as pl
from sqlalchemy import Engine

from tamis.cases.watchlists import Watchlist, all_watchlists, match
from tamis.channels import RANK
from tamis.detectors.base import SIGNAL_SCHEMA


@dataclass
class WatchlistDetector:
    watchlists: list[Watchlist] = field(default_factory=list)
    name: str = "watchlist"

    @classmethod
    def from_store(cls, engine: Engine) -> WatchlistDetector | None:
        lists = all_watchlists(engine, active_only=True)
        return cls(lists) if lists else None

    def fit(self, history: pl.DataFrame) -> Self:
        return self

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        hits = (
            match(batch, self.watchlists)
            .group_by("declaration_id")
            .agg(
                pl.col("matched").alias("reasons"),
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
