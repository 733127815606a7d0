"""The transit scheduler's round: a movement released and not arrived by its time limit is
overdue (an alert); still not arrived some days later, an enquiry is opened (another). Each
is raised once per movement, however often the round runs, even two rounds at once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, exists, select
from sqlalchemy.exc import IntegrityError

from tamis import audit
from tamis.store.engine import transaction
from tamis.transit.tables import transit_alerts, transit_movements

ENQUIRY_AFTER_DAYS = 7  # after the time limit, with no arrival: an enquiry


def check_overdue(
    engine: Engine, now: datetime | None = None, enquiry_after_days: float = ENQUIRY_AFTER_DAYS
) -> list[dict]:
    """Raise the overdue and enquiry alerts due at ``now`` (UTC, default: now); the alerts
    raised by this round."""
    now = now or audit.now()
    enquiry_after = timedelta(days=enquiry_after_days)
    raised = []
    with transaction(engine) as conn:
        late = conn.execute(
            select(
                transit_movements.c.mrn,
                transit_movements.c.limit_at,
                transit_movements.c.holder,
                transit_movements.c.destination_office,
            ).where(transit_movements.c.state == "released", transit_movements.c.limit_at < now)
        ).all()
        for movement in late:
            due = [("overdue", movement.limit_at)]
            if movement.limit_at + enquiry_after < now:
                due.append(("enquiry", movement.limit_at + enquiry_after))
            for kind, at in due:
                if _raised(conn, movement.mrn, kind):
                    continue
                detail = {
                    "limit_at": movement.limit_at,
                    "holder": movement.holder,
                    "destination_office": movement.destination_office,
                    "days_overdue": round((now - movement.limit_at).total_seconds() / 86400, 1),
                }
                try:
                    with conn.begin_nested():
                        conn.execute(
                            transit_alerts.insert().values(
                                mrn=movement.mrn,
                                kind=kind,
                                at=at,
                                raised_at=now,
                                detail=json.dumps(detail, default=str),
                            )
                        )
                except IntegrityError:  # another round raised it meanwhile
                    continue
                raised.append({"mrn": movement.mrn, "kind": kind, "at": at} | detail)
    return raised


def _raised(conn, mrn: str, kind: str) -> bool:
    return bool(
        conn.execute(
            select(exists().where(and_(transit_alerts.c.mrn == mrn, transit_alerts.c.kind == kind)))
        ).scalar()
    )
