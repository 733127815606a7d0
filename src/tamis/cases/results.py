"""Inspection results recorded by an inspector, on a case or on a declaration directly.

A result is an inspection outcome (``tamis.inspections``): the models learn from it and it
enters the importer's history at once.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import polars as pl
from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Connection, Engine, or_, select

from tamis import audit
from tamis.cases.cases import CaseError, Status, _row, close_with_result
from tamis.declarations import FraudType, InspectionResult
from tamis.ingest.checks import COUNTRIES
from tamis.inspections import record_outcomes
from tamis.refusals import Refusal
from tamis.store.tables import MAX_ID, declarations, inspection_outcomes, items

# A time typed in a page has no zone and is read as UTC: one typed in the zone furthest
# ahead of UTC (+14:00) is still not in the future.
AHEAD_OF_UTC = timedelta(hours=14)


class InspectionIn(BaseModel):
    """What the inspector found; the form and the API validate the same way."""

    result: InspectionResult
    fraud_type: FraudType | None = None
    item_number: int | None = Field(
        None, ge=1, le=MAX_ID, description="empty: the whole declaration"
    )
    revenue_recovered: Decimal = Field(Decimal(0), ge=0, max_digits=18, decimal_places=2)
    fraud_notice: str | None = Field(None, min_length=1, max_length=64)
    corrected_customs_value: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)
    corrected_hs_code: str | None = Field(None, pattern=r"^\d{6,10}$")
    corrected_origin: str | None = Field(None, min_length=2, max_length=2)
    inspected_at: audit.StoredTime | None = None

    @field_validator("corrected_origin")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None and value.upper() not in COUNTRIES:
            raise ValueError(f"{value!r} is not an ISO 3166 alpha-2 country code")
        return value and value.upper()

    @field_validator("inspected_at")
    @classmethod
    def _not_future(cls, value):
        if value is not None and value > audit.now() + AHEAD_OF_UTC:
            raise PydanticCustomError(
                "future_date", "an inspection cannot be dated in the future ({when})",
                {"when": value.isoformat(sep=" ", timespec="minutes")},
            )  # fmt: skip
        return value

    @model_validator(mode="after")
    def _coherent(self) -> InspectionIn:
        if self.result is InspectionResult.NON_COMPLIANT and self.fraud_type is None:
            raise Refusal(
                "fraud_type: a non-compliant result needs the fraud type",
                "inspection.fraud_type_needed",
                field="fraud_type",
            )
        if self.result is InspectionResult.COMPLIANT and self.fraud_type is not None:
            raise Refusal(
                "fraud_type: a compliant result has no fraud type",
                "inspection.fraud_type_unwanted",
                field="fraud_type",
            )
        return self


def _check_target(conn: Connection, declaration_id: str, item_number: int | None) -> None:
    if (
        conn.execute(
            select(declarations.c.declaration_id).where(
                declarations.c.declaration_id == declaration_id
            )
        ).first()
        is None
    ):
        raise CaseError(f"declaration {declaration_id!r} is not in the store")
    if (
        item_number is not None
        and conn.execute(
            select(items.c.item_number).where(
                items.c.declaration_id == declaration_id, items.c.item_number == item_number
            )
        ).first()
        is None
    ):
        raise CaseError(
            f"item_number: declaration {declaration_id} has no item {item_number}",
            "inspection.no_item",
            field="item_number",
            declaration_id=declaration_id,
            item_number=item_number,
        )


def _store(conn: Connection, declaration_id: str, found: InspectionIn, inspector: str, case_id):
    _check_target(conn, declaration_id, found.item_number)
    values = found.model_dump() | {
        "declaration_id": declaration_id,
        "inspector": inspector,
        "case_id": case_id,
        "inspected_at": found.inspected_at or audit.now(),
    }
    money = ("revenue_recovered", "corrected_customs_value")
    frame = pl.DataFrame(
        [{k: float(v) if k in money and v is not None else v for k, v in values.items()}],
        schema_overrides={"inspected_at": pl.Datetime("us")},
    )
    record_outcomes(conn, frame)
    audit.record(conn, inspector, "inspection.record", "declaration", declaration_id, None, values)


def record_result(engine: Engine, case_id: int, found: InspectionIn, inspector: str) -> None:
    """Record the result on the case's declaration and close the case, in one transaction."""
    with engine.begin() as conn:
        case = _row(conn, case_id)
        if case.declaration_id is None:
            raise CaseError(
                f"case {case_id} has no declaration to record a result on",
                "case.no_declaration",
                case_id=case_id,
            )
        if case.status == Status.CLOSED:
            raise CaseError(
                f"case {case_id} is closed: reopen it first",
                "case.reopen_first",
                case_id=case_id,
                current=Status.CLOSED,
            )
        _store(conn, case.declaration_id, found, inspector, case_id)
        close_with_result(conn, case_id, inspector)


def record_inspection(engine: Engine, declaration_id: str, found: InspectionIn, inspector: str):
    """A result on a declaration without a case (e.g. a random or yellow-channel check)."""
    with engine.begin() as conn:
        _store(conn, declaration_id, found, inspector, None)


CORRECTED = ("corrected_customs_value_minor", "corrected_hs_code", "corrected_origin")


def corrections(conn: Connection, declaration_id: str) -> list[dict]:
    """The results on the declaration that corrected its value, HS code or origin, each
    beside what was declared (of its item, or of the whole declaration: values summed) and
    with its effect on revenue: the value added and the revenue recovered (minor units)."""
    o = inspection_outcomes.c
    found = conn.execute(
        select(inspection_outcomes)
        .where(o.declaration_id == declaration_id)
        .where(or_(*(o[c].is_not(None) for c in CORRECTED)))
        .order_by(o.outcome_id)
    ).all()
    if not found:
        return []
    declared = conn.execute(
        select(items.c.item_number, items.c.hs_code, items.c.origin_country,
               items.c.customs_value_minor)
        .where(items.c.declaration_id == declaration_id)
        .order_by(items.c.item_number)
    ).all()  # fmt: skip
    return [_correction(row._mapping, declared) for row in found]


def _correction(result, declared) -> dict:
    covered = [i for i in declared if result["item_number"] in (None, i.item_number)]
    value = sum(i.customs_value_minor or 0 for i in covered) if covered else None
    corrected = result["corrected_customs_value_minor"]
    return {
        "outcome_id": result["outcome_id"],
        "case_id": result["case_id"],
        "item_number": result["item_number"],
        "inspected_at": result["inspected_at"],
        "inspector": result["inspector"],
        "declared_value_minor": value,
        "corrected_value_minor": corrected,
        "value_added_minor": None if None in (corrected, value) else corrected - value,
        "declared_hs_code": ", ".join(dict.fromkeys(i.hs_code for i in covered)),
        "corrected_hs_code": result["corrected_hs_code"],
        "declared_origin": ", ".join(dict.fromkeys(i.origin_country for i in covered)),
        "corrected_origin": result["corrected_origin"],
        "revenue_recovered_minor": result["revenue_recovered_minor"],
    }
