"""What the store holds, in a few figures a person can check at a glance: declarations,
the other sources (manifests, payments, trademarks, tax returns), resolved entities and
the importers scored by the last network build, and the ingests that did not complete."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from tamis.intel.tables import SOURCE_TABLES, entity_records, network_scores
from tamis.store.tables import declarations, inspection_outcomes, items, quarantine, sources


def store_summary(engine: Engine) -> dict:
    with engine.connect() as conn:

        def scalar(q):
            return conn.execute(q).scalar()

        first, last = conn.execute(
            select(func.min(declarations.c.lodged_at), func.max(declarations.c.lodged_at))
        ).one()
        by_office = conn.execute(
            select(declarations.c.office, func.count())
            .group_by(declarations.c.office)
            .order_by(func.count().desc())
            .limit(10)
        ).all()
        by_result = conn.execute(
            select(inspection_outcomes.c.result, func.count()).group_by(
                inspection_outcomes.c.result
            )
        ).all()
        unfinished = conn.execute(
            select(sources.c.path, sources.c.profile, sources.c.last_ingested_at)
            .where(sources.c.completed == 0)
            .order_by(sources.c.last_ingested_at)
        ).all()
        by_reason = conn.execute(
            select(quarantine.c.reason, func.count())
            .group_by(quarantine.c.reason)
            .order_by(func.count().desc())
        ).all()
        return {
            "database": engine.url.render_as_string(hide_password=True),
            "sources": scalar(select(func.count()).select_from(sources)),
            "declarations": scalar(select(func.count()).select_from(declarations)),
            "items": scalar(select(func.count()).select_from(items)),
            "importers": scalar(select(func.count(func.distinct(declarations.c.importer_id)))),
            "first_lodged": first.isoformat() if first else None,
            "last_lodged": last.isoformat() if last else None,
            "customs_value": (scalar(select(func.sum(items.c.customs_value_minor))) or 0) / 100,
            **{
                name: scalar(select(func.count()).select_from(table))
                for name, table in SOURCE_TABLES.items()
            },
            "entities": scalar(select(func.count(func.distinct(entity_records.c.entity_id)))),
            "entity_records": scalar(select(func.count()).select_from(entity_records)),
            "network_importers": scalar(select(func.count()).select_from(network_scores)),
            "declarations_by_office": dict(by_office),
            "inspection_outcomes": dict(by_result),
            "quarantined": dict(by_reason),
            # interrupted (or running now): ingesting the same file again completes them
            "ingests_not_completed": [
                f"{path} ({profile}, {at:%Y-%m-%d %H:%M})" for path, profile, at in unfinished
            ],
        }
