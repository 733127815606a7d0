"""Labelled frames to learn from: canonical items with ``fraud`` (0/1) and ``revenue``.

Only inspected declarations carry a label, so only they are learnt from. ``revenue`` is
what an inspection of a fraud brings: the revenue recovered when recorded, else the duty at
stake on the declared value (customs_value × duty_rate / 100). ``severity`` (from the store)
is how grave the offence recorded for the declaration is, from its class in the schedule
(1 without an offence): a fraud that led to a grave offence weighs more in training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, func, select

from tamis.ingest.checks import OUTCOME_PREFIX
from tamis.ingest.checks.few import check
from tamis.ingest.pipeline import declaration_batches, malformed_rejects
from tamis.ingest.profiles import Profile, load_profile
from tamis.ingest.readers import source_format
from tamis.offences.tables import offence_declarations, offences
from tamis.store.read import read_items, read_outcomes

NON_COMPLIANT = "non_compliant"
SEVERITY_SCHEMA = {"declaration_id": pl.String, "severity": pl.Int64}


def duty_at_stake() -> pl.Expr:
    value, rate = pl.col("customs_value").cast(pl.Float64), pl.col("duty_rate").cast(pl.Float64)
    return (value * rate.fill_null(0.0) / 100).clip(0.0).fill_null(0.0)


def _with_revenue(frame: pl.DataFrame, recovered: str) -> pl.DataFrame:
    return frame.with_columns(
        pl.col(recovered).cast(pl.Float64).fill_null(duty_at_stake()).alias("revenue")
    )


@dataclass
class LabelledFiles:
    """What files held to learn from: every record read is in ``frame`` (inspected, valid),
    counted in ``unlabelled`` (valid, never inspected) or in ``rejected`` (refused as
    ingestion would refuse it, with its file, row, field and reason)."""

    frame: pl.DataFrame
    received: int
    unlabelled: int
    rejected: pl.DataFrame

    def summary(self) -> dict:
        reasons = self.rejected["reason"].value_counts(sort=True).rows()
        return {"received": self.received, "labelled": self.frame.height,
                "unlabelled": self.unlabelled, "rejected": self.rejected.height,
                "rejected_by_reason": dict(reasons)}  # fmt: skip


def read_labelled_files(paths: str | Path | list, profile: Profile | str) -> LabelledFiles:
    """Inspected items of one or more files (comma-separated paths allowed) read through a
    mapping profile that maps outcomes."""
    profile = profile if isinstance(profile, Profile) else load_profile(profile)
    if isinstance(paths, str | Path):
        paths = [p.strip() for p in str(paths).split(",") if p.strip()]
    if not profile.outcomes:
        raise ValueError(f"profile {profile.name!r} maps no outcomes: nothing to learn from")
    parts, refused, received = [], [], 0
    for path in map(Path, paths):
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        fmt = source_format(path, profile.format)
        for frame, batch in declaration_batches(path, profile, fmt):
            checked = check(frame, profile)
            received += batch.received
            parts.append(checked.accepted)
            for rejected in (checked.rejected, malformed_rejects(batch)):
                refused.append(rejected.with_columns(pl.lit(str(path)).alias("file")))
    frame = pl.concat(parts, how="diagonal_relaxed")
    result, recovered = OUTCOME_PREFIX + "result", OUTCOME_PREFIX + "revenue_recovered"
    if recovered not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.Float64).alias(recovered))
    inspected = frame.filter(pl.col(result).is_not_null())
    inspected = inspected.with_columns(
        (pl.col(result) == NON_COMPLIANT).cast(pl.Int8).alias("fraud")
    )
    rejected = pl.concat(refused, how="diagonal_relaxed")
    return LabelledFiles(
        _with_revenue(inspected, recovered),
        received,
        frame.height - inspected.height,
        rejected,
    )


def label_items(
    items: pl.DataFrame, outcomes: pl.DataFrame, severities: pl.DataFrame | None = None
) -> pl.DataFrame:
    """Items joined to their outcomes (a result without item number covers the whole
    declaration); items never inspected are dropped. ``severities`` (declaration_id,
    severity): the declarations with an offence; the others' severity is 1."""
    bad = (pl.col("result") == NON_COMPLIANT).cast(pl.Int8)
    money = pl.col("revenue_recovered").cast(pl.Float64)
    recovered = pl.when(money.count() > 0).then(money.sum())  # null when none was recorded
    whole = (
        outcomes.filter(pl.col("item_number").is_null())
        .group_by("declaration_id")
        .agg(bad.max().alias("_fd"), recovered.alias("_rd"))
    )
    per_item = (
        outcomes.filter(pl.col("item_number").is_not_null())
        .with_columns(pl.col("item_number").cast(items.schema["item_number"]))
        .group_by("declaration_id", "item_number")
        .agg(bad.max().alias("_fi"), recovered.alias("_ri"))
    )
    frame = items.join(whole, on="declaration_id", how="left").join(
        per_item, on=["declaration_id", "item_number"], how="left"
    )
    frame = frame.filter(pl.col("_fd").is_not_null() | pl.col("_fi").is_not_null())
    frame = frame.with_columns(
        pl.max_horizontal(pl.col("_fd").fill_null(0), pl.col("_fi").fill_null(0)).alias("fraud"),
        pl.coalesce("_ri", "_rd").alias("_recovered"),
    )
    if severities is None:
        severities = pl.DataFrame(schema=SEVERITY_SCHEMA)
    frame = frame.join(severities, on="declaration_id", how="left")
    return (
        _with_revenue(frame, "_recovered")
        .with_columns(pl.col("severity").fill_null(1))
        .drop("_fd", "_fi", "_rd", "_ri", "_recovered")
    )


def offence_severities(engine: Engine) -> pl.DataFrame:
    """Per declaration with an offence, the gravest offence's severity."""
    od = offence_declarations.c
    query = (
        select(od.declaration_id, func.max(offences.c.severity))
        .join_from(offence_declarations, offences, offences.c.offence_id == od.offence_id)
        .group_by(od.declaration_id)
    )
    with engine.connect() as conn:
        return pl.DataFrame(conn.execute(query).all(), schema=SEVERITY_SCHEMA, orient="row")


def read_labelled_store(engine: Engine, since=None, until=None) -> pl.DataFrame:
    """Inspected items of the store lodged in [since, until), labelled by their outcomes
    and weighed by the severity of their offences."""
    return label_items(
        read_items(engine, since, until),
        read_outcomes(engine, since, until),
        offence_severities(engine),
    )
