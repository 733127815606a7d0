"""Network risk as a detector: each declaration carries its importer's network risk.

The risk is built by ``tamis network build`` (``tamis.intel.network``): personalised
PageRank from known offenders over the graph of importers and their declarants, suppliers,
addresses, phones and bank accounts, with the importer's community and new ties as reasons.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine

from tamis.detectors.base import StoreContext
from tamis.detectors.by_importer import ByImporter
from tamis.reasons import reason_expr, reason_struct

col = pl.col


class NetworkDetector(ByImporter):
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

    def _found(self, pairs: pl.DataFrame) -> pl.DataFrame:
        """(declaration_id, score, reason, revenue_at_stake) of each (declaration_id,
        importer_id) pair whose importer has a network risk."""
        in_community = col("community_offenders") > 0
        return (
            pairs.join(self.scores, left_on="importer_id", right_on="entity_id")
            .filter(col("risk") > 0)
            .select(
                "declaration_id",
                col("risk").alias("score"),
                reason_expr(
                    "network.risk",
                    risk=col("risk").round(2),
                    top=((1 - col("percentile")) * 100).round(1),
                    community_size=pl.when(in_community).then(col("community_size")),
                    community_offenders=pl.when(in_community).then(col("community_offenders")),
                    new_links=pl.when(col("new_links") > 0).then(col("new_links")),
                    offender=pl.when(col("known_offender")).then(reason_struct("network.offender")),
                ).alias("reason"),
                pl.lit(None, pl.Float64).alias("revenue_at_stake"),
            )
        )

    def importers(self) -> pl.Series:
        return self.scores["entity_id"]
