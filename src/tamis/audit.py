"""The audit trail: who changed what, when, with the state before and after.

Append-only: the store refuses updates and deletes of it (triggers in migration 0005).
An entry is written in the same transaction as the change it describes, so neither can
exist without the other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator
from sqlalchemy import Connection, Engine, Select, func, or_, select

from tamis.store.tables import audit_trail


def now() -> datetime:
    """Naive UTC, as every timestamp in the store."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(at: datetime | None) -> datetime | None:
    """A time as the store keeps it: one with a zone moved to UTC, then without it."""
    return at if at is None or at.tzinfo is None else at.astimezone(UTC).replace(tzinfo=None)


StoredTime = Annotated[datetime, AfterValidator(naive_utc)]  # what a request's times become


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, default=str, ensure_ascii=False)


def record(
    conn: Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    conn.execute(
        audit_trail.insert().values(
            at=now(),
            actor=actor,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            before=_json(before),
            after=_json(after),
        )
    )


def entries(
    engine: Engine,
    entity: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> list[dict]:
    """Entries, oldest first, with ``before`` and ``after`` decoded."""
    query = select(audit_trail).order_by(audit_trail.c.entry_id)
    for column, value in (
        (audit_trail.c.entity, entity),
        (audit_trail.c.entity_id, entity_id),
        (audit_trail.c.actor, actor),
    ):
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(audit_trail.c.at >= since)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [_decoded(row) for row in conn.execute(query)]


@dataclass(frozen=True)
class Filters:
    """Which entries to see: each filter given narrows them. ``action`` is an action
    (``user.add``) or a family of them (``user``); the period is of whole days, both
    included."""

    actor: str | None = None
    action: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    first: date | None = None
    last: date | None = None

    def where(self, query: Select) -> Select:
        for column, value in (
            (audit_trail.c.actor, self.actor),
            (audit_trail.c.entity, self.entity),
            (audit_trail.c.entity_id, self.entity_id),
        ):
            if value:
                query = query.where(column == value)
        if self.action:
            query = query.where(
                or_(
                    audit_trail.c.action == self.action,
                    audit_trail.c.action.startswith(self.action + ".", autoescape=True),
                )
            )
        if self.first:
            query = query.where(
                audit_trail.c.at >= datetime.combine(self.first, datetime.min.time())
            )
        if self.last:
            day_after = datetime.combine(self.last + timedelta(days=1), datetime.min.time())
            query = query.where(audit_trail.c.at < day_after)
        return query


def _decoded(row) -> dict:
    entry = dict(row._mapping)
    for key in ("before", "after"):
        entry[key] = None if entry[key] is None else json.loads(entry[key])
    return entry


def count(engine: Engine, filters: Filters) -> int:
    with engine.connect() as conn:
        return conn.execute(filters.where(select(func.count()).select_from(audit_trail))).scalar()


def newest(engine: Engine, filters: Filters, offset: int = 0, limit: int = 50) -> list[dict]:
    """A page of the entries the filters select, newest first."""
    query = filters.where(select(audit_trail)).order_by(audit_trail.c.entry_id.desc())
    with engine.connect() as conn:
        rows = conn.execute(query.offset(offset).limit(limit)).all()
    return [_decoded(row) for row in rows]


def every(engine: Engine, filters: Filters, chunk: int = 1000) -> Iterator[dict]:
    """All the entries the filters select, newest first, read ``chunk`` at a time (each
    chunk after the last entry of the one before): an export of millions streams."""
    before = None
    while True:
        query = filters.where(select(audit_trail))
        if before is not None:
            query = query.where(audit_trail.c.entry_id < before)
        with engine.connect() as conn:
            rows = conn.execute(query.order_by(audit_trail.c.entry_id.desc()).limit(chunk)).all()
        yield from (_decoded(row) for row in rows)
        if len(rows) < chunk:
            return
        before = rows[-1].entry_id
