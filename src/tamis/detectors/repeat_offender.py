"""Offence record as a detector: a declaration whose importer was a party to offences
(``tamis.offences``) within the repeat window of the schedule in force carries that record:
how many offences, the latest one's number and class.

An importer is a party by its customs identifier or by the entity the party was resolved to
when the offence was recorded (entity resolution gives an importer its customs identifier
as entity). Score: 1 - exp(-s / SCALE), ``s`` the severities of its offences added up: one
small contravention (severity 1) gives 0.22, one first-class customs crime (severity 4)
0.63; a record is never a finding, so the score stays below CEILING.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import Engine, select

from tamis import audit
from tamis.detectors.base import StoreContext
from tamis.detectors.by_importer import ByImporter
from tamis.offences.read import stored_version
from tamis.offences.schedule import schedule
from tamis.offences.tables import offence_parties, offences
from tamis.reasons import reason_expr

col = pl.col
OFFENCE = ["offence_id", "number", "offence_date", "class_code", "severity"]
LABELS = ("label_fr", "label_en")
SCALE = 4.0
CEILING = 0.95


class RepeatOffenderDetector(ByImporter):
    name = "repeat_offender"
    labels = {"fr": "récidive (contentieux)", "en": "repeat offender"}
    needs = "offences within the schedule's repeat window (tamis offences)"
    default_weight = 0.7

    def __init__(self, record: pl.DataFrame, window_years: int) -> None:
        self.record = record  # one row per party identifier: offences, severity, the latest
        self.window_years = window_years

    @classmethod
    def from_store(cls, engine: Engine, context: StoreContext) -> RepeatOffenderDetector | None:
        with engine.connect() as conn:  # a store without offences needs no schedule read
            if conn.execute(select(offences.c.offence_id).limit(1)).first() is None:
                return None
        today = audit.now().date()
        window = schedule().on(today).repeat.window_years
        record = offence_record(engine, today, window)
        return None if record.is_empty() else cls(record, window)

    def importers(self) -> pl.Series:
        return self.record["party"]

    def _found(self, pairs: pl.DataFrame) -> pl.DataFrame:
        return pairs.join(self.record, left_on="importer_id", right_on="party").select(
            "declaration_id",
            record_score(col("severity")).alias("score"),
            reason_expr(
                "offences.repeat",
                importer=col("importer_id"),
                offences=col("offences"),
                years=self.window_years,
                number=col("number"),
                offence_class=col("class_code"),
                label_fr=col("label_fr"),
                label_en=col("label_en"),
            ).alias("reason"),
            pl.lit(None, pl.Float64).alias("revenue_at_stake"),
        )


def record_score(severity: pl.Expr) -> pl.Expr:
    return (1 - (-severity.cast(pl.Float64) / SCALE).exp()).clip(0.0, CEILING)


def offence_record(engine: Engine, today: date, window_years: int) -> pl.DataFrame:
    """Per party identifier (customs id or resolved entity) with offences dated within
    ``window_years`` before ``today``: how many, their severities added up, and the latest
    one's number, class and the class's label in French and English."""
    since = pl.select(pl.lit(today).dt.offset_by(f"-{window_years}y")).item()
    o, p = offences.c, offence_parties.c
    query = (
        select(o.offence_id, o.number, o.offence_date, o.class_code, o.severity,
               o.schedule_version, p.customs_id, p.entity_id)
        .join_from(offences, offence_parties, p.offence_id == o.offence_id)
        .where(o.offence_date >= since, o.offence_date <= today)
    )  # fmt: skip
    schema = {"offence_id": pl.Int64, "number": pl.String, "offence_date": pl.Date,
              "class_code": pl.String, "severity": pl.Int64, "schedule_version": pl.String,
              "customs_id": pl.String, "entity_id": pl.String}  # fmt: skip
    with engine.connect() as conn:
        rows = pl.DataFrame(conn.execute(query).all(), schema=schema, orient="row")
        labels = _class_labels(conn, rows.select("schedule_version", "class_code").unique())
    order = [col("offence_date"), col("offence_id")]
    return (
        rows.join(labels, on=["schedule_version", "class_code"], how="left")
        .unpivot(["customs_id", "entity_id"], index=[*OFFENCE, *LABELS],
                 value_name="party")
        .drop_nulls("party")
        .unique(["party", "offence_id"])  # a party named twice in one offence counts once
        .group_by("party")
        .agg(
            pl.len().alias("offences"),
            col("severity").sum(),
            *(col(c).sort_by(order).last() for c in ("number", "class_code", *LABELS)),
        )
        .sort("party")
    )  # fmt: skip


def _class_labels(conn, classes: pl.DataFrame) -> pl.DataFrame:
    """Each (schedule version, class code)'s label in French and English, as the version
    the offences were computed with names it."""
    versions = {v: stored_version(conn, v) for v in classes["schedule_version"].unique()}
    named = [
        (
            version,
            code,
            *(versions[version].offence_class(code).name(lang) for lang in ("fr", "en")),
        )
        for version, code in classes.iter_rows()
    ]
    names = ["schedule_version", "class_code", *LABELS]
    return pl.DataFrame(named, schema=dict.fromkeys(names, pl.String), orient="row")
