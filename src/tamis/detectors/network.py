"""Network risk as a detector: each declaration carries its importer's network risk.

The risk is built by ``tamis network build`` (``tamis.intel.network``): personalised
PageRank from known offenders over the graph of importers and their declarants, suppliers,
addresses, phones and bank accounts, with the importer's community and new ties as reasons.
"""

from __future__ import annotations

from typing import Self

import polars as pl
from sqlalchemy import Engine

from tamis.detectors.base import Detector, StoreContext, signals_for

col = pl.col


class NetworkDetector(Detector):
    name = "network"
    labels = {"fr": "réseau de parties", "en": "network of parties"}
    needs = "network risk (tamis network build)"

    def __init__(self, scores: pl.DataFrame) -> None:
        self.scores = scores  # tamis.intel.network.scores: one row per importer

    @classmethod
    def from_store(cls, engine: Engine, context: StoreContext) -> NetworkDetector | None:
        from tamis.intel.network import read_scores

        scores = read_scores(engine)
        return None if scores.is_empty() else cls(scores)

    def fit(self, history: pl.DataFrame) -> Self:
        return self

    def assess(self, batch: pl.DataFrame) -> pl.DataFrame:
        community = pl.when(col("community_offenders") > 0).then(
            pl.format(
                "; in a community of {} importers, {} of them known offenders",
                "community_size",
                "community_offenders",
            )
        )
        new = pl.when(col("new_links") > 0).then(
            pl.format("; {} tie(s) first seen in the last 90 days", "new_links")
        )
        found = (
            batch.select("declaration_id", "importer_id")
            .unique()
            .join(self.scores, left_on="importer_id", right_on="entity_id")
            .filter(col("risk") > 0)
            .select(
                "declaration_id",
                col("risk").alias("score"),
                pl.concat_str(
                    pl.format(
                        "network risk {} (top {}% of importers): close to known offenders "
                        "through shared ties",
                        col("risk").round(2),
                        ((1 - col("percentile")) * 100).round(1),
                    ),
                    community,
                    new,
                    pl.when(col("known_offender")).then(pl.lit("; a known offender itself")),
                    ignore_nulls=True,
                ).alias("reason"),
                pl.lit(None, pl.Float64).alias("revenue_at_stake"),
            )
        )
        return signals_for(batch, found)
