"""The audit trail: who changed what, when, with the state before and after.

Append-only: the store refuses updates and deletes of it (triggers in migration 0005).
An entry is written in the same transaction as the change it describes, so neither can
exist without the other.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator
from sqlalchemy import Connection, Engine, select

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
        rows = [dict(row._mapping) for row in conn.execute(query)]
    for row in rows:
        for key in ("before", "after"):
            row[key] = None if row[key] is None else json.loads(row[key])
    return rows
