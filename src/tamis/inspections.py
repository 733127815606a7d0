"""Inspection results: what inspectors found, recorded as outcomes the models learn from."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Connection, Engine

from tamis import audit
from tamis.declarations import FraudType, InspectionResult
from tamis.store import changes
from tamis.store.engine import transaction
from tamis.store.load import bulk_insert
from tamis.store.tables import inspection_outcomes

COLUMNS = {
    "declaration_id": pl.String,
    "item_number": pl.Int64,  # null: the whole declaration
    "inspected_at": pl.Datetime("us"),
    "inspector": pl.String,
    "result": pl.String,
    "fraud_type": pl.String,
    "revenue_recovered": pl.Float64,
    "fraud_notice": pl.String,
    "case_id": pl.Int64,
    "corrected_hs_code": pl.String,
    "corrected_origin": pl.String,
    "corrected_customs_value": pl.Float64,
}
MONEY = ("revenue_recovered", "corrected_customs_value")


def record_outcomes(bind: Engine | Connection, outcomes: pl.DataFrame) -> int:
    """Store results (columns of ``COLUMNS``; missing ones are empty); the number stored."""
    frame = outcomes.select(
        pl.col(c).cast(t) if c in outcomes.columns else pl.lit(None, t).alias(c)
        for c, t in COLUMNS.items()
    )
    bad_result = frame.filter(~pl.col("result").is_in([r.value for r in InspectionResult]))
    bad_type = frame.filter(
        pl.col("fraud_type").is_not_null()
        & ~pl.col("fraud_type").is_in([t.value for t in FraudType])
    )
    for bad, field in ((bad_result, "result"), (bad_type, "fraud_type")):
        if bad.height:
            row = bad.row(0, named=True)
            raise ValueError(
                f"declaration {row['declaration_id']}: {field} {row[field]!r} is not one of "
                f"{[v.value for v in (InspectionResult if field == 'result' else FraudType)]}"
            )
    rows = frame.with_columns(
        *((pl.col(m) * 100).round(0).cast(pl.Int64).alias(f"{m}_minor") for m in MONEY),
        pl.lit(audit.now()).alias("recorded_at"),
    ).drop(MONEY)
    with transaction(bind) as conn:
        bulk_insert(conn, inspection_outcomes.name, rows)
        changes.announce(conn, rows["declaration_id"])
    return rows.height


def _found(inspector: str) -> list[pl.Expr]:
    """An inspection result per declaration (declaration_id, lodged_at, fraud, fraud_type,
    revenue_at_stake) from the planted truth."""
    return [
        "declaration_id",
        (pl.col("lodged_at") + pl.duration(days=1)).alias("inspected_at"),
        pl.lit(inspector).alias("inspector"),
        pl.when("fraud")
        .then(pl.lit("non_compliant"))
        .otherwise(pl.lit("compliant"))
        .alias("result"),
        pl.when("fraud").then("fraud_type").alias("fraud_type"),
        pl.when("fraud").then("revenue_at_stake").otherwise(0.0).alias("revenue_recovered"),
    ]


def _planted(truth: pl.DataFrame) -> pl.DataFrame:
    """Per declaration: lodged_at, any fraud, its type and the revenue at stake."""
    return truth.group_by("declaration_id", maintain_order=True).agg(
        pl.col("lodged_at").first(),
        pl.col("fraud").any(),
        pl.col("fraud_type").drop_nulls().first(),
        pl.col("revenue_at_stake").cast(pl.Float64).sum(),
    )


def simulated_results(decided: pl.DataFrame, truth: pl.DataFrame, lodged: pl.DataFrame):
    """What inspectors would find on the declarations sent to inspection (orange, red, or
    randomly selected), read from a synthetic file's planted ground truth: for demos and
    benchmarks only, where no inspector exists."""
    inspected = decided.filter(
        pl.col("channel").is_in(["orange", "red"]) | pl.col("random_selected")
    ).select("declaration_id")
    planted = _planted(truth.drop("lodged_at", strict=False).join(
        lodged.select("declaration_id", "lodged_at").unique("declaration_id"),
        on="declaration_id",
    ))  # fmt: skip
    return inspected.join(planted, on="declaration_id").select(_found("demo inspector"))


def simulated_random_results(truth: pl.DataFrame, share: float, seed: int) -> pl.DataFrame:
    """What inspectors would find on a random ``share`` of a synthetic file's declarations
    (``truth``: declaration_id, lodged_at, fraud, fraud_type, revenue_at_stake per item):
    the known offenders that network risk and the models start from, in demos and
    benchmarks only."""
    sample = _planted(truth).sample(fraction=share, seed=seed)
    return sample.select(_found("random inspection"))
