"""Mutual administrative assistance: requests sent to and received from partner
administrations, linked to cases, with their status. A partner user sees only the
requests exchanged with its own administration."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import Engine, select, update

from tamis import audit
from tamis.cases.cases import _row
from tamis.store.tables import MAX_ID, assistance_requests
from tamis.users import Role, User


class RequestStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class AssistanceIn(BaseModel):
    direction: Literal["outgoing", "incoming"]
    partner: str = Field(min_length=2, max_length=64, description="the partner administration")
    subject: str = Field(min_length=3, max_length=500)
    body: str = Field(min_length=1)
    case_id: int | None = Field(None, ge=1, le=MAX_ID)


class AssistanceError(ValueError):
    pass


def _visible(query, user: User):
    if user.role is Role.PARTNER:
        return query.where(assistance_requests.c.partner == user.partner)
    return query


def create(engine: Engine, request: AssistanceIn, user: User) -> int:
    now = audit.now()
    values = request.model_dump() | dict(
        status=RequestStatus.OPEN.value, created_by=user.username, created_at=now, updated_at=now
    )
    with engine.begin() as conn:
        if request.case_id is not None:
            _row(conn, request.case_id)
        request_id = conn.execute(
            assistance_requests.insert().values(**values)
        ).inserted_primary_key[0]
        audit.record(
            conn, user.username, "assistance.create", "assistance", request_id, None, values
        )
    return request_id


def requests(engine: Engine, user: User, case_id: int | None = None) -> list[dict]:
    query = _visible(select(assistance_requests), user).order_by(
        assistance_requests.c.request_id.desc()
    )
    if case_id is not None:
        query = query.where(assistance_requests.c.case_id == case_id)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def get(engine: Engine, request_id: int, user: User) -> dict:
    query = _visible(select(assistance_requests), user).where(
        assistance_requests.c.request_id == request_id
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:  # a partner is not told that another partner's request exists
        raise LookupError(f"no assistance request {request_id}")
    return dict(row._mapping)


def answer(engine: Engine, request_id: int, text: str, user: User) -> None:
    """The requested administration answers: a partner answers our outgoing requests, our
    analysts answer incoming ones."""
    current = get(engine, request_id, user)
    ours_to_answer = current["direction"] == "incoming"
    if (user.role is Role.PARTNER) == ours_to_answer:
        raise AssistanceError(f"request {request_id} is answered by the other administration")
    if current["status"] != RequestStatus.OPEN:
        raise AssistanceError(f"request {request_id} is {current['status']}: no answer expected")
    _update(
        engine,
        request_id,
        user,
        "assistance.answer",
        answer=text,
        status=RequestStatus.ANSWERED.value,
    )


def close(engine: Engine, request_id: int, user: User) -> None:
    get(engine, request_id, user)
    _update(engine, request_id, user, "assistance.close", status=RequestStatus.CLOSED.value)


def _update(engine: Engine, request_id: int, user: User, action: str, **values) -> None:
    with engine.begin() as conn:
        row = conn.execute(
            select(assistance_requests).where(assistance_requests.c.request_id == request_id)
        ).first()
        before = {k: row._mapping[k] for k in values}
        conn.execute(
            update(assistance_requests)
            .where(assistance_requests.c.request_id == request_id)
            .values(**values, updated_at=audit.now())
        )
        audit.record(conn, user.username, action, "assistance", request_id, before, values)
