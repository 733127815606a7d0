"""Offences as the store holds them: their states, one offence with its parties and
declarations, the queue, and the schedule versions they were computed with."""

from __future__ import annotations

import json
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Connection, Engine, func, select

from tamis.offences.schedule import Version, version_from_json
from tamis.offences.tables import offence_declarations, offence_parties, offence_schedules, offences
from tamis.refusals import Refusal

CENT = Decimal("0.01")


class OffenceError(Refusal):
    """An offence cannot be recorded or changed as asked; the message says why."""


class OffenceNotFound(LookupError):
    pass


class Status(StrEnum):
    OPEN = "open"
    SETTLEMENT_PROPOSED = "settlement_proposed"
    SETTLEMENT_APPROVED = "settlement_approved"
    SETTLED = "settled"  # the offender accepted: what is due is being paid
    IN_COURT = "in_court"
    JUDGED = "judged"  # the court fixed what is due
    PAID = "paid"
    CLOSED = "closed"  # nothing more to do (acquitted, or nothing due)


ENDED = (Status.PAID, Status.CLOSED)


def minor(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def amount(minor: int | None) -> Decimal:
    return (Decimal(minor or 0) / 100).quantize(CENT)


def stored_version(conn: Connection, name: str) -> Version:
    body = conn.execute(
        select(offence_schedules.c.body).where(offence_schedules.c.version == name)
    ).scalar()
    if body is None:
        raise OffenceNotFound(f"schedule version {name!r} is not in the store")
    return version_from_json(body)


# --- reading --------------------------------------------------------------------------


def read_offence(conn: Connection, offence_id: int) -> dict:
    row = conn.execute(select(offences).where(offences.c.offence_id == offence_id)).first()
    if row is None:
        raise OffenceNotFound(f"no offence {offence_id}")
    offence = row._asdict()
    offence["penalty_basis"] = json.loads(offence["penalty_basis"])
    offence["parties"] = [
        r._asdict()
        for r in conn.execute(
            select(offence_parties)
            .where(offence_parties.c.offence_id == offence_id)
            .order_by(offence_parties.c.party_id)
        )
    ]
    offence["declaration_ids"] = list(
        conn.execute(
            select(offence_declarations.c.declaration_id)
            .where(offence_declarations.c.offence_id == offence_id)
            .order_by(offence_declarations.c.declaration_id)
        ).scalars()
    )
    return offence


def offence_of_declaration(conn: Connection, declaration_id: str) -> tuple[int, str] | None:
    """(id, number) of the offence a declaration is part of, if any."""
    found = conn.execute(
        select(offences.c.offence_id, offences.c.number)
        .join(offence_declarations, offence_declarations.c.offence_id == offences.c.offence_id)
        .where(offence_declarations.c.declaration_id == declaration_id)
    ).first()
    return None if found is None else tuple(found)


def offence_id_of(conn: Connection, ref: str | int) -> int:
    """An offence's id from its id or its number (``office/year/sequence``)."""
    if isinstance(ref, int) or str(ref).isdigit():
        return int(ref)
    found = conn.execute(select(offences.c.offence_id).where(offences.c.number == ref)).scalar()
    if found is None:
        raise OffenceNotFound(f"no offence {ref}")
    return found


def get(engine: Engine, ref: str | int) -> dict:
    with engine.connect() as conn:
        return read_offence(conn, offence_id_of(conn, ref))


def listing(
    engine: Engine,
    office: str | None = None,
    status: Status | None = None,
    party: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict]:
    """The queue: newest facts first."""
    o = offences.c
    query = select(o.offence_id, o.number, o.office, o.offence_date, o.class_code, o.status,
                   o.penalty_minor, o.due_minor, o.paid_minor, o.currency, o.repeat_of,
                   o.limitation_date, o.found_by)  # fmt: skip
    if office:
        query = query.where(o.office == office)
    if status:
        query = query.where(o.status == status)
    if party:
        p = offence_parties.c
        query = query.where(
            o.offence_id.in_(
                select(p.offence_id).where((p.customs_id == party) | (p.entity_id == party))
            )
        )
    query = query.order_by(o.offence_date.desc(), o.offence_id.desc()).limit(limit).offset(offset)
    with engine.connect() as conn:
        return [r._asdict() for r in conn.execute(query)]


def by_importer(engine: Engine, importer_id: str) -> list[dict]:
    """An importer's offences (as a party by identifier or resolved entity), newest first."""
    return listing(engine, party=importer_id, limit=1000)


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(offences)).scalar_one()
