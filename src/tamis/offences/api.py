"""``/api/offences``: customs offences (contentieux) recorded by officers or opened from a
non-compliant inspection, their settlement approved by a supervisor, the courts, payments
and the limitation alerts. A refused change answers 409 with the reason, a missing offence
404; an offence is named in URLs by its id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError, create_model

from tamis import audit
from tamis.api.auth import FIELD, READERS, SUPERVISORS, TARGETERS
from tamis.api.deps import Offset, RecordId, Store
from tamis.offences import read, records, settlement
from tamis.offences.read import OffenceError, Status
from tamis.offences.records import OffenceIn
from tamis.offences.schedule import ScheduleError
from tamis.offences.settlement import JudgmentIn, PaymentIn, SettlementIn
from tamis.offences.watch import watch_offence
from tamis.users import User

Reader = Annotated[User, Depends(READERS)]
Officer = Annotated[User, Depends(FIELD)]
Supervisor = Annotated[User, Depends(SUPERVISORS)]
Targeter = Annotated[User, Depends(TARGETERS)]
Refused = (OffenceError, ScheduleError)  # the schedule cannot classify or price it as asked


def refusals() -> Iterator[None]:
    """Our refusals as HTTP: a missing offence 404, a refused change 409, a figure the
    records refuse (once the body is read) 422."""
    try:
        yield
    except LookupError as error:
        raise HTTPException(404, str(error)) from None
    except ValidationError as error:
        said = error.errors(include_url=False, include_context=False, include_input=False)
        raise HTTPException(422, said) from None
    except Refused as error:
        raise HTTPException(409, str(error)) from None


router = APIRouter(prefix="/api/offences", tags=["offences"], dependencies=[Depends(refusals)])

# What an officer adds to what the inspection found: everything an offence says but its
# declarations, the facts optional (they default to the inspection's).
FromInspectionIn = create_model(
    "FromInspectionIn",
    facts=(str | None, Field(None, min_length=3, max_length=20_000)),
    **{
        name: (field.annotation, field)
        for name, field in OffenceIn.model_fields.items()
        if name not in ("facts", "declaration_ids")
    },
)


class DecisionIn(BaseModel):
    approve: bool
    note: str | None = Field(None, max_length=2000)


class CourtIn(BaseModel):
    court: str = Field(min_length=1, max_length=128)


def full(engine, offence_id: int) -> dict:
    """The offence with its settlements, instalments, payments and audit trail."""
    offence = read.get(engine, offence_id)
    trail = audit.entries(engine, entity="offence", entity_id=offence["number"])
    return offence | settlement.schedule_of_payments(engine, offence_id) | {"audit_trail": trail}


@router.get("")
def list_offences(
    engine: Store,
    user: Reader,
    office: Annotated[str | None, Query(max_length=64)] = None,
    status: Status | None = None,
    party: Annotated[str | None, Query(max_length=64, description="customs id or entity")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[dict]:
    """The queue, newest facts first."""
    return read.listing(engine, office, status, party, limit, offset)


def _fresh_assessor(request: Request) -> None:
    request.app.state.assessor = None  # the next lodgement sees the offender's record


@router.post("", status_code=201)
def open_offence(request: Request, engine: Store, user: Officer, body: OffenceIn) -> dict:
    """An officer records an offence; blank figures come from its declarations."""
    opened = records.open_offence(engine, body, user.username)
    _fresh_assessor(request)
    return opened


@router.post("/from-inspection/{declaration_id}", status_code=201)
def open_from_inspection(
    request: Request,
    engine: Store,
    user: Officer,
    declaration_id: Annotated[str, Path(min_length=1, max_length=64)],
    body: FromInspectionIn | None = None,
) -> dict:
    """The offence a declaration's non-compliant inspection result found."""
    more = body.model_dump(exclude_unset=True) if body else {}
    opened = records.open_from_inspection(engine, declaration_id, user.username, **more)
    _fresh_assessor(request)
    return opened


class WatchIn(BaseModel):
    days: int = Field(365, ge=1, le=3650)


@router.post("/{offence_id}/watchlist", status_code=201)
def watch(
    request: Request, engine: Store, user: Targeter, offence_id: RecordId, body: WatchIn
) -> dict:
    """A watchlist of the offence's importers and HS heading, for ``days``."""
    watchlist_id = watch_offence(engine, offence_id, user.username, body.days)
    _fresh_assessor(request)
    return {"watchlist_id": watchlist_id}


@router.get("/alerts")
def get_alerts(engine: Store, user: Reader, today: date | None = None) -> list[dict]:
    """Limitations lapsing (or lapsed) before a settlement or the courts, and instalments
    past due, as of ``today`` (by default, today)."""
    return settlement.alerts(engine, today or audit.now().date())


@router.get("/{offence_id}")
def get_offence(engine: Store, user: Reader, offence_id: RecordId) -> dict:
    return full(engine, offence_id)


@router.get("/{offence_id}/replay")
def replay(engine: Store, user: Reader, offence_id: RecordId) -> dict:
    """The penalty computed again from the schedule version it was recorded with."""
    return records.replay(engine, offence_id)


@router.post("/{offence_id}/settlement")
def propose(engine: Store, user: Officer, offence_id: RecordId, body: SettlementIn) -> dict:
    return settlement.propose(engine, offence_id, body, user.username)


@router.post("/{offence_id}/settlement/decision")
def decide(engine: Store, user: Supervisor, offence_id: RecordId, body: DecisionIn) -> dict:
    """A supervisor, not the one who proposed it, approves or rejects the settlement."""
    return settlement.decide(engine, offence_id, body.approve, user.username, body.note)


@router.post("/{offence_id}/settlement/acceptance")
def accept(engine: Store, user: Officer, offence_id: RecordId) -> dict:
    """The offender accepted the approved settlement."""
    return settlement.accept(engine, offence_id, user.username)


@router.post("/{offence_id}/court")
def refer_to_court(engine: Store, user: Supervisor, offence_id: RecordId, body: CourtIn) -> dict:
    return settlement.refer_to_court(engine, offence_id, body.court, user.username)


@router.post("/{offence_id}/judgment")
def record_judgment(
    engine: Store, user: Supervisor, offence_id: RecordId, body: JudgmentIn
) -> dict:
    return settlement.record_judgment(engine, offence_id, body, user.username)


@router.post("/{offence_id}/payments", status_code=201)
def pay(
    engine: Store, user: Officer, offence_id: RecordId, body: PaymentIn, response: Response
) -> dict:
    """201: recorded; 200: this receipt was recorded already (``duplicate``), nothing added."""
    paid = settlement.pay(engine, offence_id, body, user.username)
    if paid["duplicate"]:
        response.status_code = 200
    return paid
