"""Transit across a border, between two administrations each running Tamis: the office of
destination collects the anticipated arrivals (IE001) bound for it from the administration
of departure's API, takes them as its own movements, and sends back what it found (IE006,
IE018) through the same API. Each side answers a message received twice as the first time,
so an exchange interrupted half-way is simply run again."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx
from sqlalchemy import BigInteger, Engine, cast, func, select, update

from tamis import audit
from tamis.settings import settings
from tamis.store.engine import transaction
from tamis.transit.movements import receive
from tamis.transit.tables import transit_messages

FORWARDED = ("IE006", "IE018")


@dataclass
class Exchanged:
    collected: int = 0  # anticipated arrivals taken here (new ones)
    delivered: int = 0  # messages the partner took
    refused: list[str] = field(default_factory=list)  # the partner's reasons

    def as_dict(self) -> dict:
        return {"collected": self.collected, "delivered": self.delivered, "refused": self.refused}


def exchange(
    engine: Engine, partner: str, base_url: str, token: str, timeout: float = 30
) -> Exchanged:
    """One round with ``partner`` (the administration's code here, e.g. its country) whose
    API is at ``base_url``, signed in with ``token`` (a partner user of theirs)."""
    done = Exchanged()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=timeout) as api:
        after = _collected_up_to(engine, partner)
        while page := _get(api, "/api/transit/outbox", {"after": after}):
            for sent in page:
                after = max(after, sent["message_id"])
                if sent["type"] != "IE001":
                    continue
                body = sent["body"] | {
                    "type": "IE001",
                    "sender": partner,
                    "message_id": str(sent["message_id"]),
                    "mrn": sent["mrn"],
                }
                body = {k: v for k, v in body.items() if k in _IE001_FIELDS}
                receipt = receive(engine, body, actor=f"exchange:{partner}")
                done.collected += receipt.outcome == "accepted" and not receipt.duplicate
        for message_id, kind, sender_ref, mrn, fields in _undelivered(engine, partner):
            said = {
                "type": kind,
                "sender": settings().country,
                "message_id": sender_ref,
                "mrn": mrn,
            } | fields
            answer = api.post("/api/transit/messages", json=said)
            if answer.status_code >= 500:
                answer.raise_for_status()
            reason = None if answer.status_code < 300 else answer.json().get("reason")
            if reason:
                done.refused.append(f"{kind} {mrn}: {reason}")
            _delivered(engine, message_id, reason)
            done.delivered += 1
    return done


_IE001_FIELDS = {
    "type",
    "sender",
    "message_id",
    "mrn",
    "departure_office",
    "destination_office",
    "holder",
    "limit_at",
    "goods",
    "seals",
    "currency",
}


def _collected_up_to(engine: Engine, partner: str) -> int:
    """The partner's last message id taken here (IE001s are kept under their id there), so
    each round asks only for what is new."""
    m = transit_messages.c
    with engine.connect() as conn:
        return conn.execute(
            select(func.coalesce(func.max(cast(m.sender_ref, BigInteger)), 0)).where(
                m.direction == "in",
                m.sender == partner,
                m.type == "IE001",
                ~m.sender_ref.contains("#"),
            )
        ).scalar()


def _get(api: httpx.Client, path: str, params: dict) -> list[dict]:
    answer = api.get(path, params=params)
    answer.raise_for_status()
    return answer.json()


def _undelivered(engine: Engine, partner: str) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                transit_messages.c.message_id,
                transit_messages.c.type,
                transit_messages.c.sender_ref,
                transit_messages.c.mrn,
                transit_messages.c.body,
            )
            .where(
                transit_messages.c.direction == "out",
                transit_messages.c.recipient == partner,
                transit_messages.c.type.in_(FORWARDED),
                transit_messages.c.delivered_at.is_(None),
            )
            .order_by(transit_messages.c.message_id)
        ).all()
    drop = {"type", "mrn"}
    return [
        (
            r.message_id,
            r.type,
            r.sender_ref,
            r.mrn,
            {k: v for k, v in json.loads(r.body).items() if k not in drop},
        )
        for r in rows
    ]


def _delivered(engine: Engine, message_id: int, reason: str | None) -> None:
    with transaction(engine) as conn:
        conn.execute(
            update(transit_messages)
            .where(transit_messages.c.message_id == message_id)
            .values(delivered_at=audit.now(), reason=reason)
        )
