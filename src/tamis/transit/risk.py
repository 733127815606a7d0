"""Risk at departure: a movement declared (IE015) is routed like a declaration, on what a
transit officer weighs: its holder's record (movements that never arrived, left their
route, arrived short), the duties and taxes at stake, a route across a border, goods
travelling without a seal. Its channel says whether the goods are checked before release;
random selection applies as to declarations. Capacity is the declarations' and is not
spent here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select

from tamis.detectors.transit import record_score
from tamis.reasons import reason
from tamis.route import Capacity, load_routing
from tamis.route.few import route_few
from tamis.transit.tables import LIGHT, SERIOUS, transit_alerts, transit_movements

HIGH_STAKE_MINOR = 5_000_000  # duties at stake at which the stake alone scores 0.5
BORDER, UNSEALED = 0.2, 0.3


def departure_decision(
    conn: Connection,
    mrn: str,
    holder: str,
    at_stake_minor: int,
    currency: str,
    abroad: str | None,
    sealed: bool,
    office: str,
    at: datetime,
) -> dict:
    """The movement's channel, score and reasons (as ``tamis.route`` decides them)."""
    parts = [_record(conn, holder, mrn)]
    stake = at_stake_minor / (at_stake_minor + HIGH_STAKE_MINOR)
    parts.append((stake, reason("transit.stake", amount=at_stake_minor / 100, currency=currency)))
    if abroad:
        parts.append((BORDER, reason("transit.border", country=abroad)))
    if not sealed:
        parts.append((UNSEALED, reason("transit.unsealed")))
    parts = [(score, said) for score, said in parts if score > 0]
    not_risky = 1.0
    for score, _ in parts:
        not_risky *= 1 - score
    signal = {
        "score": 1 - not_risky,
        "reasons": [said for _, said in parts],
        "revenue_at_stake": at_stake_minor / 100,
        "forced_channel": None,
    }
    header = {"declaration_id": mrn, "office": office, "procedure": "transit", "lodged_at": at}
    config = load_routing().model_copy(update={"capacity": Capacity()})
    decided = route_few([header], {"transit": {mrn: signal}}, config)[0]
    return {"channel": decided["channel"], "score": decided["score"], "reasons": decided["reasons"]}


def _record(conn: Connection, holder: str, mrn: str) -> tuple[float, str | None]:
    """The holder's earlier movements as the transit detector weighs them."""
    earlier = conn.execute(
        select(func.count())
        .select_from(transit_movements)
        .where(transit_movements.c.holder == holder, transit_movements.c.mrn != mrn)
    ).scalar()
    alerted = conn.execute(
        select(transit_alerts.c.mrn, transit_alerts.c.kind, transit_alerts.c.alert_id)
        .join(transit_movements, transit_movements.c.mrn == transit_alerts.c.mrn)
        .where(transit_movements.c.holder == holder, transit_alerts.c.kind.in_(SERIOUS + LIGHT))
        .order_by(transit_alerts.c.alert_id)
    ).all()
    kinds = [(m, kind) for m, kind, _ in alerted]
    serious = {m for m, kind in kinds if kind in SERIOUS}
    light = {m for m, _ in kinds} - serious
    if not kinds:
        return 0.0, None
    score = record_score(len(serious), len(light), earlier)
    said = reason(
        "transit.record",
        importer=holder,
        alerted=len(serious | light),
        movements=earlier,
        kinds=sorted({k for _, k in kinds}),
        last=kinds[-1][0],
    )
    return score, said
