"""Transit record as a detector: a declaration whose importer, as holder of transit
movements, had movements that never arrived, left their route, lost mass on the way or had
their seal opened carries that record (``tamis.transit``: the alerts raised on them).

Score: serious alerts count one, a late or merely overdue movement a half, over the
holder's movements plus one: a first diversion among few movements weighs more than one
among hundreds, and no holder is certain from a single movement.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine, select

from tamis.detectors.base import StoreContext
from tamis.detectors.by_importer import ByImporter
from tamis.reasons import reason_expr
from tamis.transit.tables import LIGHT, SERIOUS, transit_alerts, transit_movements

col = pl.col


class TransitDetector(ByImporter):
    name = "transit"
    labels = {"fr": "antécédents de transit", "en": "transit record"}
    needs = "transit movements with alerts (tamis transit)"
    default_weight = 0.6

    def __init__(self, record: pl.DataFrame) -> None:
        self.record = record  # one row per holder: movements, serious, light, kinds

    @classmethod
    def from_store(cls, engine: Engine, context: StoreContext) -> TransitDetector | None:
        record = transit_record(engine)
        return None if record.is_empty() else cls(record)

    def importers(self) -> pl.Series:
        return self.record["holder"]

    def _found(self, pairs: pl.DataFrame) -> pl.DataFrame:
        return pairs.join(self.record, left_on="importer_id", right_on="holder").select(
            "declaration_id",
            record_score(col("serious"), col("light"), col("movements")).alias("score"),
            reason_expr(
                "transit.record",
                importer=col("importer_id"),
                alerted=col("alerted"),
                movements=col("movements"),
                kinds=col("kinds"),
                last=col("last_mrn"),
            ).alias("reason"),
            pl.lit(None, pl.Float64).alias("revenue_at_stake"),
        )


def record_score(serious, light, movements):
    """A holder's transit record as a score (numbers, or Polars expressions of them)."""
    return (serious + 0.5 * light) / (movements + 1)


def transit_record(engine: Engine) -> pl.DataFrame:
    """Per holder with an alerted movement: its movements, how many of them had a serious
    or only a light alert, the kinds seen and the last alerted movement."""
    with engine.connect() as conn:
        moved = pl.read_database(
            select(transit_movements.c.mrn, transit_movements.c.holder),
            conn,
            schema_overrides={"mrn": pl.String, "holder": pl.String},
        )
        alerted = pl.read_database(
            select(transit_alerts.c.mrn, transit_alerts.c.kind, transit_alerts.c.alert_id),
            conn,
            schema_overrides={"mrn": pl.String, "kind": pl.String, "alert_id": pl.Int64},
        )
    per_movement = (
        alerted.filter(col("kind").is_in(SERIOUS + LIGHT))
        .group_by("mrn")
        .agg(
            col("kind").is_in(SERIOUS).any().alias("serious"),
            col("kind").unique().sort().alias("kinds"),
            col("alert_id").max(),
        )
    )
    return (
        moved.join(per_movement, on="mrn", how="left")
        .group_by("holder")
        .agg(
            pl.len().alias("movements"),
            col("serious").fill_null(False).sum().cast(pl.Float64),
            (col("serious").is_not_null() & ~col("serious").fill_null(True))
            .sum()
            .cast(pl.Float64)
            .alias("light"),
            col("serious").is_not_null().sum().alias("alerted"),
            col("kinds").explode(keep_nulls=False, empty_as_null=False).unique().sort(),
            col("mrn").sort_by(col("alert_id").fill_null(-1)).last().alias("last_mrn"),
        )
        .filter(col("alerted") > 0)
        .sort("holder")
    )
