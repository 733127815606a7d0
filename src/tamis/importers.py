"""An importer's history as the targeting centre sees it: volume, inspections, findings."""

from __future__ import annotations

from sqlalchemy import Engine, case, func, select

from tamis.store.tables import declarations, inspection_outcomes


def importer_history(engine: Engine, importer_id: str) -> dict | None:
    """Declarations lodged, first and last seen, inspections, non-compliant results, hit rate
    and revenue recovered; None for an importer never seen."""
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
    }
