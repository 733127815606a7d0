"""``GET /valuation/reference`` (JSON) and ``GET /valuation/reference/chart.png``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response
from sqlalchemy import Engine

from tamis.api.deps import Store
from tamis.valuation import database
from tamis.valuation.report import reference_report

router = APIRouter(prefix="/valuation", tags=["valuation"])


Hs = Annotated[str, Query(pattern=r"^\d{4,10}$", description="HS code, 4 to 10 digits")]
Origin = Annotated[str, Query(pattern=r"^[A-Za-z]{2}$", description="country, ISO alpha-2")]
Basis = Annotated[str | None, Query(pattern=r"^[A-Za-z]{1,8}$", description="KG, U, L...")]
Declared = Annotated[float | None, Query(gt=0, description="a declared unit value to score")]


def _report(engine: Engine, hs: str, origin: str, basis: str | None, declared: float | None):
    report = reference_report(
        database.current_references(engine), hs, origin.upper(), basis and basis.upper(), declared
    )
    if report is None:
        raise HTTPException(404, f"no reference for HS {hs} from {origin.upper()}")
    return report


@router.get("/reference")
def get_reference(
    engine: Store, hs: Hs, origin: Origin, basis: Basis = None, declared: Declared = None
) -> dict:
    """The reference unit value for goods of an HS code from an origin (risk indicator only)."""
    return _report(engine, hs, origin, basis, declared)


@router.get("/reference/chart.png", response_class=Response)
def get_reference_chart(
    engine: Store, hs: Hs, origin: Origin, basis: Basis = None, declared: Declared = None
) -> Response:
    report = _report(engine, hs, origin, basis, declared)
    return Response(database.chart(engine, report), media_type="image/png")
