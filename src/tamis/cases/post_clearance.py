"""Post-clearance audit: among released (green or blue) declarations, pick the N most worth a
deferred control, by expected revenue (score × duties and taxes at stake), then score.
The selection is stored with, per declaration, why it was picked."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Engine, func, select

from tamis import audit
from tamis.store.load import bulk_insert
from tamis.store.tables import (
    audit_selection_items,
    audit_selections,
    channel_changes,
    decisions,
    declarations,
    inspection_outcomes,
)

RELEASED = ("green", "blue")  # blue: released, marked for deferred control


def _candidates(engine: Engine, since: datetime | None, until: datetime | None) -> pl.DataFrame:
    """Declarations whose latest decision released them, still released (no officer raised
    them), never inspected and never selected for audit before."""
    latest = select(func.max(decisions.c.decision_id)).group_by(decisions.c.declaration_id)
    query = (
        select(
            decisions.c.declaration_id,
            decisions.c.score,
            decisions.c.revenue_at_stake_minor,
            declarations.c.lodged_at,
        )
        .join(declarations, declarations.c.declaration_id == decisions.c.declaration_id)
        .where(
            decisions.c.decision_id.in_(latest),
            decisions.c.channel.in_(RELEASED),
            ~decisions.c.declaration_id.in_(select(channel_changes.c.declaration_id)),
            ~decisions.c.declaration_id.in_(select(inspection_outcomes.c.declaration_id)),
            ~decisions.c.declaration_id.in_(select(audit_selection_items.c.declaration_id)),
        )
    )
    if since:
        query = query.where(declarations.c.lodged_at >= since)
    if until:
        query = query.where(declarations.c.lodged_at < until)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    schema = {
        "declaration_id": pl.String,
        "score": pl.Float64,
        "revenue_at_stake_minor": pl.Int64,
        "lodged_at": pl.Datetime("us"),
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def select_for_audit(
    engine: Engine,
    budget: int,
    actor: str,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict:
    """Store a selection of at most ``budget`` declarations; the selection and its picks."""
    if budget < 1:
        raise ValueError("budget: at least one audit")
    candidates = _candidates(engine, since, until)
    revenue = pl.col("revenue_at_stake_minor").fill_null(0) / 100
    picked = (
        candidates.with_columns((pl.col("score") * revenue).alias("expected"))
        .sort(["expected", "score", "declaration_id"], descending=[True, True, False])
        .head(budget)
        .with_row_index("rank", offset=1)
    )
    explanation = pl.format(
        "rank {} of {} released: score {}, duties and taxes at stake {}, expected {}",
        "rank",
        pl.lit(candidates.height),
        pl.col("score").round(3),
        revenue.round(2),
        pl.col("expected").round(2),
    )
    now = audit.now()
    values = dict(
        selected_at=now,
        selected_by=actor,
        budget=budget,
        period_from=since,
        period_to=until,
        candidates=candidates.height,
    )
    with engine.begin() as conn:
        selection_id = conn.execute(
            audit_selections.insert().values(**values)
        ).inserted_primary_key[0]
        if picked.height:
            bulk_insert(
                conn,
                audit_selection_items.name,
                picked.select(
                    pl.lit(selection_id).alias("selection_id"),
                    "declaration_id",
                    pl.col("rank").cast(pl.Int64),
                    "score",
                    "revenue_at_stake_minor",
                    explanation.alias("explanation"),
                ),
            )
        audit.record(
            conn,
            actor,
            "audit.select",
            "audit_selection",
            selection_id,
            None,
            values | {"selected": picked.height},
        )
    return get_selection(engine, selection_id)


def get_selection(engine: Engine, selection_id: int) -> dict:
    with engine.connect() as conn:
        head = conn.execute(
            select(audit_selections).where(audit_selections.c.selection_id == selection_id)
        ).first()
        if head is None:
            raise LookupError(f"no audit selection {selection_id}")
        picks = conn.execute(
            select(audit_selection_items)
            .where(audit_selection_items.c.selection_id == selection_id)
            .order_by(audit_selection_items.c.rank)
        ).all()
    selection = dict(head._mapping)
    selection["declarations"] = [
        {
            **{
                k: v
                for k, v in p._mapping.items()
                if k not in ("selection_id", "revenue_at_stake_minor")
            },
            "revenue_at_stake": None
            if p.revenue_at_stake_minor is None
            else p.revenue_at_stake_minor / 100,
        }
        for p in picks
    ]
    return selection


def selections(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(audit_selections).order_by(audit_selections.c.selection_id.desc())
        )
        return [dict(r._mapping) for r in rows]
