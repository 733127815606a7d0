"""``/api/transit``: messages in (NCTS names), movements, timelines, alerts, and the
messages a partner administration collects. A partner sees and reports on only the
movements bound for it; every message, refused or not, is kept."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from tamis.api.auth import ADMINS, FIELD, READERS, TARGETERS, Allow
from tamis.api.deps import MAX_ID, Store
from tamis.roles import Role
from tamis.transit import movements as moves
from tamis.transit import read
from tamis.transit.overdue import check_overdue
from tamis.users import User

router = APIRouter(prefix="/api/transit", tags=["transit"])
SENDERS = Allow(*FIELD.roles, Role.PARTNER)
VIEWERS = Allow(*READERS.roles, Role.PARTNER)
Sender = Annotated[User, Depends(SENDERS)]
Viewer = Annotated[User, Depends(VIEWERS)]
MAX_BODY = 1_000_000  # bytes: a declaration of 999 goods items is far less


def _partner(user: User) -> str | None:
    """The administration a partner user speaks for (None: one of ours)."""
    return (user.partner or "?") if user.role == Role.PARTNER else None


@router.post("/messages")
async def post_message(request: Request, engine: Store, user: Sender) -> JSONResponse:
    """Take one NCTS message (JSON). 201: accepted; 200: the same message again (nothing
    changed); 409: it does not fit the movement's state; 422: not a valid message; 403:
    not the partner's to send; 404: no such movement. The message is kept in every case."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, f"message of {len(body):,} bytes: at most {MAX_BODY:,}")
    text = body.decode("utf-8", errors="replace")
    receipt = moves.receive(engine, text, actor=user.username, partner=_partner(user))
    return JSONResponse(receipt.as_dict(), status_code=receipt.status)


@router.get("/movements")
def get_movements(
    engine: Store,
    user: Viewer,
    state: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[dict]:
    return read.movements(engine, _partner(user), state, limit)


@router.get("/movements/{mrn}")
def get_movement(engine: Store, user: Viewer, mrn: Annotated[str, Path(max_length=18)]) -> dict:
    found = read.movement(engine, mrn, _partner(user))
    if found is None:
        raise HTTPException(404, f"mrn {mrn}: no such movement")
    return found


@router.get("/alerts")
def get_alerts(
    engine: Store,
    user: Viewer,
    kind: Annotated[str | None, Query(max_length=24)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> list[dict]:
    return read.alerts(engine, _partner(user), kind, limit)


@router.get("/outbox")
def get_outbox(
    engine: Store,
    user: Annotated[User, Depends(Allow(Role.PARTNER))],
    after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[dict]:
    """The messages sent to the partner (anticipated arrivals), after message id ``after``."""
    return read.outbox(engine, _partner(user), after)


@router.post("/check")
def post_check(engine: Store, user: Annotated[User, Depends(TARGETERS)]) -> list[dict]:
    """Run the scheduler's round now: the overdue and enquiry alerts it raised."""
    return check_overdue(engine)


class GuaranteeIn(BaseModel):
    holder: str = Field(min_length=1, max_length=64)
    reference_amount_minor: int = Field(ge=0, le=10**15)
    currency: str = Field(pattern=r"^[A-Z]{3}$")


@router.put("/guarantees/{guarantee}")
def put_guarantee(
    engine: Store,
    user: Annotated[User, Depends(ADMINS)],
    guarantee: Annotated[str, Path(min_length=1, max_length=64)],
    body: GuaranteeIn,
) -> dict:
    moves.register_guarantee(
        engine, guarantee, body.holder, body.reference_amount_minor, body.currency, user.username
    )
    return {"guarantee": guarantee} | body.model_dump()
