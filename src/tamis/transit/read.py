"""What analysts, officers and partners read of transit: movements, one movement's
timeline (its messages and alerts in order), alerts, and the messages sent to a partner.
A partner administration (``partner``) sees only the movements bound for it."""

from __future__ import annotations

import json

from sqlalchemy import Engine, select

from tamis.transit.tables import transit_alerts, transit_messages, transit_movements

_JSON = ("itinerary", "goods", "seals", "risk_reasons")


def movements(
    engine: Engine, partner: str | None = None, state: str | None = None, limit: int = 200
) -> list[dict]:
    query = select(transit_movements).order_by(transit_movements.c.declared_at.desc()).limit(limit)
    if partner is not None:
        query = query.where(transit_movements.c.partner == partner)
    if state is not None:
        query = query.where(transit_movements.c.state == state)
    with engine.connect() as conn:
        return [_movement(row._asdict()) for row in conn.execute(query)]


def movement(engine: Engine, mrn: str, partner: str | None = None) -> dict | None:
    """The movement with its timeline; None if there is none (or not the partner's)."""
    with engine.connect() as conn:
        row = conn.execute(select(transit_movements).where(transit_movements.c.mrn == mrn)).first()
        if row is None or (partner is not None and row.partner != partner):
            return None
        said = conn.execute(
            select(transit_messages)
            .where(transit_messages.c.mrn == mrn)
            .order_by(transit_messages.c.message_id)
        ).all()
        raised = conn.execute(
            select(transit_alerts)
            .where(transit_alerts.c.mrn == mrn)
            .order_by(transit_alerts.c.alert_id)
        ).all()
    messages = [
        {k: v for k, v in m._asdict().items() if k != "body"} | {"body": json.loads(m.body)}
        for m in said
    ]
    return _movement(row._asdict()) | {
        "messages": messages,
        "alerts": [_alert(a._asdict()) for a in raised],
    }


def alerts(
    engine: Engine, partner: str | None = None, kind: str | None = None, limit: int = 500
) -> list[dict]:
    query = (
        select(transit_alerts, transit_movements.c.holder, transit_movements.c.state)
        .join(transit_movements, transit_movements.c.mrn == transit_alerts.c.mrn)
        .order_by(transit_alerts.c.alert_id.desc())
        .limit(limit)
    )
    if partner is not None:
        query = query.where(transit_movements.c.partner == partner)
    if kind is not None:
        query = query.where(transit_alerts.c.kind == kind)
    with engine.connect() as conn:
        return [_alert(row._asdict()) for row in conn.execute(query)]


def outbox(engine: Engine, recipient: str, after: int = 0, limit: int = 500) -> list[dict]:
    """The messages sent to ``recipient`` (an office or a partner), oldest first, after the
    message id ``after``: what a partner collects."""
    query = (
        select(transit_messages)
        .where(
            transit_messages.c.direction == "out",
            transit_messages.c.recipient == recipient,
            transit_messages.c.message_id > after,
        )
        .order_by(transit_messages.c.message_id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [
            {
                "message_id": m.message_id,
                "type": m.type,
                "mrn": m.mrn,
                "sender": m.sender,
                "at": m.at,
                "body": json.loads(m.body),
            }
            for m in conn.execute(query)
        ]


def _movement(row: dict) -> dict:
    return row | {k: json.loads(row[k]) for k in _JSON if row.get(k) is not None}


def _alert(row: dict) -> dict:
    return row | {"detail": json.loads(row["detail"]) if row.get("detail") else {}}
