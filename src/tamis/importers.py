"""An importer's history as the targeting centre sees it: volume, inspections, findings,
offences."""

from __future__ import annotations

from sqlalchemy import Engine, case, func, select

from tamis.offences.tables import offence_parties, offences
from tamis.store.tables import declarations, inspection_outcomes

LATEST_OFFENCES = 5


def importer_history(engine: Engine, importer_id: str) -> dict | None:
    """Declarations lodged, first and last seen, inspections, non-compliant results, hit rate,
    revenue recovered and offences; None for an importer never seen."""
    lodged = select(
        func.count(),
        func.min(declarations.c.lodged_at),
        func.max(declarations.c.lodged_at),
        func.max(declarations.c.importer_name),
    ).where(declarations.c.importer_id == importer_id)
    found = case(
        (inspection_outcomes.c.result == "non_compliant", inspection_outcomes.c.declaration_id)
    )
    inspected = (
        select(
            func.count(func.distinct(inspection_outcomes.c.declaration_id)),
            func.count(func.distinct(found)),
            func.coalesce(func.sum(inspection_outcomes.c.revenue_recovered_minor), 0),
        )
        .join(declarations, declarations.c.declaration_id == inspection_outcomes.c.declaration_id)
        .where(declarations.c.importer_id == importer_id)
    )
    by_type = (
        select(inspection_outcomes.c.fraud_type, func.count())
        .join(declarations, declarations.c.declaration_id == inspection_outcomes.c.declaration_id)
        .where(
            declarations.c.importer_id == importer_id, inspection_outcomes.c.fraud_type.is_not(None)
        )
        .group_by(inspection_outcomes.c.fraud_type)
    )
    with engine.connect() as conn:
        count, first, last, name = conn.execute(lodged).one()
        if not count:
            return None
        inspections, findings, recovered = conn.execute(inspected).one()
        fraud_types = dict(conn.execute(by_type).all())
        offended = conn.execute(_offences(importer_id)).all()
    return {
        "importer_id": importer_id,
        "name": name,
        "declarations": count,
        "first_seen": first,
        "last_seen": last,
        "inspected_declarations": inspections,
        "non_compliant_declarations": findings,
        "hit_rate": round(findings / inspections, 3) if inspections else None,
        "revenue_recovered": recovered / 100,
        "fraud_types": fraud_types,
        "offences": _offence_record(offended),
    }


def _offences(importer_id: str):
    """The offences the importer is a party to, by its customs identifier or as the entity
    its party was resolved to, newest first."""
    o, p = offences.c, offence_parties.c
    theirs = select(p.offence_id).where(
        (p.customs_id == importer_id) | (p.entity_id == importer_id)
    )
    return (
        select(o.number, o.penalty_minor, o.currency)
        .where(o.offence_id.in_(theirs))
        .order_by(o.offence_date.desc(), o.offence_id.desc())
    )


def _offence_record(rows) -> dict:
    """How many offences, the latest numbers, and the penalties proposed per currency (minor
    units)."""
    penalties: dict[str, int] = {}
    for row in rows:
        penalties[row.currency] = penalties.get(row.currency, 0) + row.penalty_minor
    return {
        "count": len(rows),
        "latest": [row.number for row in rows[:LATEST_OFFENCES]],
        "penalties_minor": penalties,
    }
