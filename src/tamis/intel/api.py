"""``/api/network/{entity}``: the neighbourhood of an entity; ``/api/entities``: resolved
entities and analysts' decisions on pairs of records."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy import Engine

from tamis.api.auth import READERS, TARGETERS
from tamis.intel import network, resolve
from tamis.users import User

router = APIRouter(prefix="/api", tags=["intelligence"])
Reader = Annotated[User, Depends(READERS)]


def _engine(request: Request) -> Engine:
    return request.app.state.engine


@router.get("/network/{entity}")
def get_neighbourhood(
    request: Request, user: Reader, entity: str, depth: Annotated[int, Query(ge=1, le=3)] = 2
) -> dict:
    """The entity's ties (declarants, suppliers, addresses, phones, accounts) and the
    importers sharing them, each with its network risk: nodes and edges to draw, as of the
    last network build."""
    found = network.neighbourhood(_engine(request), entity, depth)
    if found is None:
        raise HTTPException(404, f"{entity!r} is not in the network (as last built)")
    return found


@router.get("/network/{entity}/chart.png", response_class=Response)
def get_neighbourhood_chart(
    request: Request, user: Reader, entity: str, depth: Annotated[int, Query(ge=1, le=3)] = 2
) -> Response:
    """The same neighbourhood drawn (PNG)."""
    from tamis.intel.chart import neighbourhood_chart

    return Response(
        neighbourhood_chart(get_neighbourhood(request, user, entity, depth)), media_type="image/png"
    )


@router.get("/entities/{entity}")
def get_entity(request: Request, user: Reader, entity: str) -> dict:
    """The records of every source resolved to one entity."""
    records = resolve.entity_records_of(_engine(request), entity)
    if records.is_empty():
        raise HTTPException(404, f"no resolved entity {entity!r}")
    return {"entity": entity, "records": records.to_dicts()}


class Decision(BaseModel):
    record_key_l: str
    record_key_r: str
    decision: Literal["confirm", "split"]
    reason: str | None = None


@router.post("/entities/decisions", status_code=201)
def post_decision(
    request: Request, user: Annotated[User, Depends(TARGETERS)], decision: Decision
) -> dict:
    """Confirm or split a pair of records; applied by every later resolution."""
    try:
        resolve.decide(_engine(request), **decision.model_dump(), analyst=user.username)
    except ValueError as error:
        raise HTTPException(404, str(error)) from None
    applied = {"analyst": user.username, "applied": "at the next resolution"}
    return decision.model_dump() | applied
