"""A transit movement's life, one state machine per MRN, moved only by messages
(``tamis.transit.messages``):

    IE015 → declared (IE028 sent) → IE029 → released (IE001 sent to the destination)
          → IE006 → arrived → IE018 A1 → written off (IE045 sent, guarantee discharged)
                            → IE018 B1 → discrepancies → IE045 → written off

IE024 (change of destination) and IE180 (incident) are taken while released. At the office
of destination of a movement from abroad, IE001 (from the administration of departure)
makes it anticipated; its arrival and control results are sent back there. Every message
is kept, accepted or refused, with its reason: one received twice (the same sender and
message id) changes nothing and is answered as the first time; one that does not fit the
movement's state is refused. A declaration whose duties at stake would take its guarantee
beyond its reference amount is refused (the guarantee stays as it was).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from tamis import audit
from tamis.settings import settings
from tamis.store.engine import transaction
from tamis.transit.messages import (
    RECEIVED,
    AnticipatedArrival,
    ArrivalAdvice,
    ChangeOfDestination,
    ControlResults,
    DeclarationData,
    Incident,
    ReleaseForTransit,
    WriteOff,
)
from tamis.transit.risk import departure_decision
from tamis.transit.tables import (
    transit_alerts,
    transit_guarantees,
    transit_messages,
    transit_movements,
)

OPEN = ("declared", "released", "arrived", "discrepancies")  # engaging their guarantee
MASS_TOLERANCE = 0.02  # a mass at arrival short by more than this share of departure's


class Refused(Exception):
    """A message the movement cannot take: its reason, and the HTTP status that says it."""

    def __init__(self, reason: str, status: int = 409) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


@dataclass(frozen=True)
class Receipt:
    """What became of a received message."""

    outcome: str  # accepted, refused
    mrn: str | None
    state: str | None
    reason: str | None
    duplicate: bool = False
    status: int = 201

    def as_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "mrn": self.mrn,
            "state": self.state,
            "reason": self.reason,
            "duplicate": self.duplicate,
        }


def receive(engine: Engine, body: dict | str, actor: str, partner: str | None = None) -> Receipt:
    """Take one message (a dict or its JSON text) from ``actor``; ``partner``: the partner
    administration the actor speaks for, which may only report on movements bound for it
    (arrival, control results, incidents). The message is kept whatever becomes of it."""
    text = body if isinstance(body, str) else json.dumps(body, default=str, ensure_ascii=False)
    try:
        message = (
            RECEIVED.validate_json(text)
            if isinstance(body, str)
            else RECEIVED.validate_python(body)
        )
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "message"
        return _keep_apart(engine, body, text, f"{where}: {first['msg']}", 422)
    if partner is not None and message.sender != partner:  # nobody speaks for another
        reason = f"sender: {message.sender!r}, a partner sends as itself ({partner!r})"
        return _keep_apart(engine, body, text, reason, 403)
    try:
        with transaction(engine) as conn:
            earlier = _earlier(conn, message.sender, message.message_id)
            if earlier is not None:
                return earlier
            logged = _log(conn, message, text)  # first: the timeline reads in order
            try:
                mrn = _apply(conn, message, partner)
            except Refused as refused:
                mrn = getattr(message, "mrn", None)
                _logged(conn, logged, mrn=mrn, outcome="refused", reason=refused.reason)
                return Receipt(
                    "refused", mrn, _state(conn, message), refused.reason, status=refused.status
                )
            _logged(conn, logged, mrn=mrn)
            audit.record(
                conn,
                actor,
                f"transit.{message.type}",
                "transit_movement",
                mrn,
                after={"message_id": message.message_id, "sender": message.sender},
            )
            return Receipt("accepted", mrn, _state(conn, message, mrn), None)
    except IntegrityError:  # the same message taken meanwhile by another request
        with engine.connect() as conn:
            earlier = _earlier(conn, message.sender, message.message_id)
        if earlier is None:
            raise
        return earlier


def _keep_apart(engine: Engine, body, text: str, reason: str, status: int) -> Receipt:
    """A message refused before it could be taken (not a valid message, or a sender that is
    not the partner's own), kept under a reference of its own: it cannot stand for, nor
    block, the sender's real message with that id."""
    said = body if isinstance(body, dict) else _loads(text)
    ref = f"{str(said.get('message_id') or '')[:40]}#refused-{secrets.token_hex(8)}"
    with transaction(engine) as conn:
        conn.execute(
            transit_messages.insert().values(
                direction="in",
                sender=str(said.get("sender") or "?")[:64],
                sender_ref=ref,
                type=str(said.get("type") or "?")[:8],
                mrn=None,
                recipient=None,
                at=audit.now(),
                outcome="refused",
                reason=reason,
                body=text,
            )
        )
    return Receipt("refused", None, None, reason, status=status)


def _loads(text: str) -> dict:
    try:
        said = json.loads(text)
    except ValueError:
        return {}
    return said if isinstance(said, dict) else {}


def _earlier(conn: Connection, sender: str, ref: str) -> Receipt | None:
    row = conn.execute(
        select(transit_messages.c.outcome, transit_messages.c.mrn, transit_messages.c.reason).where(
            transit_messages.c.direction == "in",
            transit_messages.c.sender == sender,
            transit_messages.c.sender_ref == ref,
        )
    ).first()
    if row is None:
        return None
    state = _movement_state(conn, row.mrn)
    status = 200 if row.outcome == "accepted" else 409
    return Receipt(row.outcome, row.mrn, state, row.reason, duplicate=True, status=status)


def _state(conn: Connection, message, mrn: str | None = None) -> str | None:
    return _movement_state(conn, mrn or getattr(message, "mrn", None))


def _movement_state(conn: Connection, mrn: str | None) -> str | None:
    if mrn is None:
        return None
    return conn.execute(
        select(transit_movements.c.state).where(transit_movements.c.mrn == mrn)
    ).scalar()


def _log(conn: Connection, message, text: str) -> int:
    """The received message kept (accepted until said otherwise); its row id."""
    return conn.execute(
        transit_messages.insert().values(
            direction="in",
            sender=message.sender,
            sender_ref=message.message_id,
            type=message.type,
            mrn=getattr(message, "mrn", None),
            recipient=None,
            at=audit.now(),
            outcome="accepted",
            reason=None,
            body=text,
        )
    ).inserted_primary_key[0]


def _logged(conn: Connection, message_id: int, **values) -> None:
    conn.execute(
        update(transit_messages).where(transit_messages.c.message_id == message_id).values(**values)
    )


def _send(conn: Connection, kind: str, mrn: str, sender: str, recipient: str, body: dict) -> None:
    """A message Tamis sends, kept like those it receives."""
    conn.execute(
        transit_messages.insert().values(
            direction="out",
            sender=sender,
            sender_ref=f"{kind}-{mrn}-{secrets.token_hex(4)}",
            type=kind,
            mrn=mrn,
            recipient=recipient,
            at=audit.now(),
            outcome="accepted",
            reason=None,
            body=json.dumps({"type": kind, "mrn": mrn} | body, default=str),
        )
    )


def _apply(conn: Connection, message, partner: str | None) -> str:
    if isinstance(message, DeclarationData | AnticipatedArrival):
        if partner is not None:
            raise Refused(f"a partner administration does not send {message.type} here", 403)
        if isinstance(message, AnticipatedArrival):
            return _take_anticipated(conn, message)
        return _declare(conn, message)
    movement = _locked(conn, message.mrn)
    if partner is not None:
        if movement["partner"] != partner:
            raise Refused(f"movement {message.mrn} is not bound for {partner}", 403)
        if not isinstance(message, ArrivalAdvice | ControlResults | Incident):
            raise Refused(f"a partner administration does not send {message.type}", 403)
    STEPS[type(message)](conn, message, movement)
    return message.mrn


def _locked(conn: Connection, mrn: str) -> dict:
    """The movement, held until the transaction ends (one message at a time moves it)."""
    held = conn.execute(
        update(transit_movements)
        .where(transit_movements.c.mrn == mrn)
        .values(updated_at=transit_movements.c.updated_at)
    )
    if held.rowcount == 0:
        raise Refused(f"mrn {mrn}: no such movement", 404)
    row = conn.execute(select(transit_movements).where(transit_movements.c.mrn == mrn)).one()
    return row._asdict()


def _expect(movement: dict, message, *states: str) -> None:
    if movement["state"] not in states:
        raise Refused(
            f"{message.type} does not fit movement {movement['mrn']}: it is {movement['state']},"
            f" {message.type} needs it {' or '.join(states)}"
        )


def _move(conn: Connection, mrn: str, **values) -> None:
    conn.execute(
        update(transit_movements)
        .where(transit_movements.c.mrn == mrn)
        .values(updated_at=audit.now(), **values)
    )


def _alert(conn: Connection, mrn: str, kind: str, at: datetime, **detail) -> None:
    conn.execute(
        transit_alerts.insert().values(
            mrn=mrn,
            kind=kind,
            at=at,
            raised_at=audit.now(),
            detail=json.dumps(detail, default=str),
        )
    )


def _declare(conn: Connection, message: DeclarationData) -> str:
    at_stake = sum(item.duties_minor for item in message.goods)
    _check_guarantee(conn, message, at_stake)
    mrn = new_mrn(audit.now())
    home = settings().country
    partner = None if message.destination_country == home else message.destination_country
    now = audit.now()
    conn.execute(
        transit_movements.insert().values(
            mrn=mrn,
            lrn=message.lrn,
            holder=message.holder,
            departure_office=message.departure_office,
            destination_office=message.destination_office,
            destination_country=message.destination_country,
            partner=partner,
            itinerary=json.dumps(message.itinerary or [home, message.destination_country]),
            guarantee=message.guarantee,
            at_stake_minor=at_stake,
            currency=message.currency,
            gross_mass_kg=sum(item.gross_mass_kg for item in message.goods),
            goods=json.dumps([item.model_dump() for item in message.goods]),
            seals=json.dumps(message.seals),
            transit_days=message.transit_days,
            state="declared",
            role="departure",
            declared_at=now,
            updated_at=now,
        )
    )
    risk = departure_decision(
        conn,
        mrn,
        message.holder,
        at_stake,
        message.currency,
        partner,
        bool(message.seals),
        message.departure_office,
        now,
    )
    _move(
        conn,
        mrn,
        channel=risk["channel"],
        risk_score=risk["score"],
        risk_reasons=json.dumps(risk["reasons"], ensure_ascii=False),
    )
    _send(
        conn,
        "IE028",
        mrn,
        message.departure_office,
        message.holder,
        {"lrn": message.lrn, "channel": risk["channel"]},
    )
    return mrn


def _check_guarantee(conn: Connection, message: DeclarationData, at_stake: int) -> None:
    """Refused (IE055) when the guarantee is unknown, another holder's, in another currency,
    or its reference amount cannot take this movement's duties on top of its open ones. The
    guarantee is held meanwhile: two declarations never both take its last room."""
    held = conn.execute(
        update(transit_guarantees)
        .where(transit_guarantees.c.guarantee == message.guarantee)
        .values(updated_at=transit_guarantees.c.updated_at)
    )
    if held.rowcount == 0:
        raise Refused(f"guarantee: {message.guarantee!r} is not a registered guarantee", 422)
    g = conn.execute(
        select(transit_guarantees).where(transit_guarantees.c.guarantee == message.guarantee)
    ).one()
    if g.holder != message.holder:
        raise Refused(f"guarantee: {message.guarantee!r} is not held by {message.holder}", 422)
    if g.currency != message.currency:
        raise Refused(f"currency: {message.currency}, the guarantee is in {g.currency}", 422)
    engaged = engaged_minor(conn, message.guarantee)
    if engaged + at_stake > g.reference_amount_minor:
        raise Refused(
            f"guarantee: {message.guarantee} would be exceeded: {at_stake} at stake on top of "
            f"{engaged} engaged, reference amount {g.reference_amount_minor} "
            f"({message.currency} minor units)",
            422,
        )


def engaged_minor(conn: Connection, guarantee: str) -> int:
    """What the open movements under ``guarantee`` engage of it."""
    return int(
        conn.execute(
            select(func.coalesce(func.sum(transit_movements.c.at_stake_minor), 0)).where(
                transit_movements.c.guarantee == guarantee, transit_movements.c.state.in_(OPEN)
            )
        ).scalar()
    )


def _release(conn: Connection, message: ReleaseForTransit, movement: dict) -> None:
    _expect(movement, message, "declared")
    released = _naive(message.released_at)
    limit = released + timedelta(days=movement["transit_days"])
    _move(conn, movement["mrn"], state="released", released_at=released, limit_at=limit)
    _anticipate(conn, movement, movement["destination_office"], limit)


def _anticipate(conn: Connection, movement: dict, office: str, limit: datetime) -> None:
    """IE001 to the office of destination (the partner's, where the route crosses a border)."""
    recipient = movement["partner"] or office
    _send(
        conn,
        "IE001",
        movement["mrn"],
        movement["departure_office"],
        recipient,
        {
            "departure_office": movement["departure_office"],
            "destination_office": office,
            "limit_at": limit,
            "holder": movement["holder"],
            "goods": json.loads(movement["goods"]),
            "seals": json.loads(movement["seals"]),
            "currency": movement["currency"],
        },
    )


def _change_destination(conn: Connection, message: ChangeOfDestination, movement: dict) -> None:
    _expect(movement, message, "released")
    home = settings().country
    partner = None if message.destination_country == home else message.destination_country
    _move(
        conn,
        movement["mrn"],
        destination_office=message.destination_office,
        destination_country=message.destination_country,
        partner=partner,
    )
    moved = movement | {"partner": partner}
    _anticipate(conn, moved, message.destination_office, movement["limit_at"])


def _incident(conn: Connection, message: Incident, movement: dict) -> None:
    _expect(movement, message, "released")
    _alert(
        conn,
        movement["mrn"],
        "incident",
        _naive(message.at),
        description=message.description,
        lon=message.lon,
        lat=message.lat,
    )


def _arrive(conn: Connection, message: ArrivalAdvice, movement: dict) -> None:
    _expect(movement, message, "released", "anticipated")
    arrived = _naive(message.arrived_at)
    if movement["released_at"] and arrived < movement["released_at"]:
        raise Refused(
            f"arrived_at: {arrived} is before the release ({movement['released_at']})", 422
        )
    _move(conn, movement["mrn"], state="arrived", arrived_at=arrived, arrival_office=message.office)
    _forward(conn, movement, message, arrived_at=arrived, office=message.office)
    if arrived > movement["limit_at"]:
        late = (arrived - movement["limit_at"]).total_seconds() / 86400
        _alert(
            conn,
            movement["mrn"],
            "late",
            arrived,
            days_late=round(late, 1),
            limit_at=movement["limit_at"],
        )
    if message.office != movement["destination_office"]:
        _alert(
            conn,
            movement["mrn"],
            "other_office",
            arrived,
            office=message.office,
            declared=movement["destination_office"],
        )


def _control(conn: Connection, message: ControlResults, movement: dict) -> None:
    _expect(movement, message, "arrived")
    now = audit.now()
    mass = message.arrival_mass_kg
    short = mass is not None and mass < movement["gross_mass_kg"] * (1 - MASS_TOLERANCE)
    if short:
        _alert(
            conn,
            movement["mrn"],
            "mass_short",
            movement["arrived_at"],
            arrival_mass_kg=mass,
            departure_mass_kg=movement["gross_mass_kg"],
        )
    conform = message.result == "A1" and not short
    _move(
        conn,
        movement["mrn"],
        state="controlled" if conform else "discrepancies",
        controlled_at=now,
        control_result=message.result,
        arrival_mass_kg=mass,
    )
    _forward(
        conn,
        movement,
        message,
        result=message.result,
        arrival_mass_kg=mass,
        remarks=message.remarks,
    )
    if conform and movement["role"] == "departure":
        _write_off(conn, movement, now)


def _forward(conn: Connection, movement: dict, message, **fields) -> None:
    """At the office of destination of a movement from abroad: what it found, sent back to
    the administration of departure (collected by ``tamis.transit.partners``)."""
    if movement["role"] == "destination":
        _send(conn, message.type, movement["mrn"], settings().country, movement["partner"], fields)


def _take_anticipated(conn: Connection, message: AnticipatedArrival) -> str:
    """IE001 from the administration of departure: a movement expected here."""
    if _movement_state(conn, message.mrn) is not None:
        raise Refused(f"mrn {message.mrn}: this movement is already known here")
    now = audit.now()
    conn.execute(
        transit_movements.insert().values(
            mrn=message.mrn,
            lrn=message.mrn,
            holder=message.holder,
            departure_office=message.departure_office,
            destination_office=message.destination_office,
            destination_country=settings().country,
            partner=message.sender,
            itinerary=json.dumps([]),
            guarantee="",
            role="destination",
            at_stake_minor=sum(item.duties_minor for item in message.goods),
            currency=message.currency,
            gross_mass_kg=sum(item.gross_mass_kg for item in message.goods),
            goods=json.dumps([item.model_dump() for item in message.goods]),
            seals=json.dumps(message.seals),
            transit_days=0,
            state="anticipated",
            declared_at=now,
            limit_at=_naive(message.limit_at),
            updated_at=now,
        )
    )
    return message.mrn


def _ask_write_off(conn: Connection, message: WriteOff, movement: dict) -> None:
    _expect(movement, message, "discrepancies")
    _write_off(conn, movement, audit.now())


def _write_off(conn: Connection, movement: dict, now: datetime) -> None:
    _move(conn, movement["mrn"], state="written_off", written_off_at=now)
    _send(
        conn,
        "IE045",
        movement["mrn"],
        movement["departure_office"],
        movement["holder"],
        {"guarantee": movement["guarantee"], "discharged_minor": movement["at_stake_minor"]},
    )


STEPS = {
    ReleaseForTransit: _release,
    ChangeOfDestination: _change_destination,
    Incident: _incident,
    ArrivalAdvice: _arrive,
    ControlResults: _control,
    WriteOff: _ask_write_off,
}


def _naive(at: datetime) -> datetime:
    """UTC without a zone, as every timestamp in the store."""
    if at.tzinfo is None:
        return at
    return (at - at.utcoffset()).replace(tzinfo=None)


_ISO6346 = {
    c: v
    for c, v in zip(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ", [v for v in range(10, 39) if v % 11], strict=False
    )
}


def check_digit(body: str) -> str:
    """The MRN's last character: ISO 6346's check digit over its first seventeen."""
    total = sum((int(c) if c.isdigit() else _ISO6346[c]) << i for i, c in enumerate(body))
    return str(total % 11 % 10)


def new_mrn(at: datetime) -> str:
    """A movement reference number: year, country, thirteen characters, a check digit."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    body = f"{at:%y}{settings().country}" + "".join(secrets.choice(alphabet) for _ in range(13))
    return body + check_digit(body)


def register_guarantee(
    engine: Engine, guarantee: str, holder: str, reference_minor: int, currency: str, actor: str
) -> None:
    """A guarantee and its reference amount (a new amount replaces the old one)."""
    if reference_minor < 0:
        raise ValueError(f"reference amount: {reference_minor}, expected 0 or more")
    with transaction(engine) as conn:
        before = conn.execute(
            select(transit_guarantees).where(transit_guarantees.c.guarantee == guarantee)
        ).first()
        values = {
            "holder": holder,
            "reference_amount_minor": reference_minor,
            "currency": currency,
            "updated_at": audit.now(),
        }
        if before is None:
            conn.execute(transit_guarantees.insert().values(guarantee=guarantee, **values))
        else:
            conn.execute(
                update(transit_guarantees)
                .where(transit_guarantees.c.guarantee == guarantee)
                .values(**values)
            )
        audit.record(
            conn,
            actor,
            "transit.guarantee",
            "transit_guarantee",
            guarantee,
            before=before and before._asdict(),
            after=values,
        )
