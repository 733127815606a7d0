"""Cases: opened by a red or orange decision, a watchlist hit or an analyst; queued by
office and priority, assigned, noted, inspected and closed. Every change is audited."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

import polars as pl
from sqlalchemy import Connection, Engine, bindparam, func, select, update

from tamis import audit
from tamis.reasons import render_all
from tamis.store.load import bulk_insert
from tamis.store.tables import attachments, case_notes, cases, inspection_outcomes, users

OPENING_CHANNELS = ("red", "orange")
SELECTIVITY = "selectivity"  # the actor that opens cases from decisions


class Status(StrEnum):
    OPEN = "open"
    IN_INSPECTION = "in_inspection"
    CLOSED = "closed"


MOVES = {
    Status.OPEN: {Status.IN_INSPECTION, Status.CLOSED},
    Status.IN_INSPECTION: {Status.OPEN, Status.CLOSED},
    Status.CLOSED: {Status.OPEN},
}
ASSIGNABLE_ROLES = ("admin", "analyst", "inspector", "supervisor")


class CaseError(ValueError):
    """A case cannot change as asked; the message says why."""


class CaseNotFound(LookupError):
    pass


OPEN_CASES = select(cases.c.declaration_id).where(
    cases.c.declaration_id.in_(bindparam("ids", expanding=True)), cases.c.status != Status.CLOSED
)


def _open_declarations(conn: Connection, declaration_ids: list[str]) -> set[str]:
    """Those of the declarations that already have a case not closed."""
    found: set[str] = set()
    for start in range(0, len(declaration_ids), 1000):
        chunk = declaration_ids[start : start + 1000]
        found.update(conn.execute(OPEN_CASES, {"ids": chunk}).scalars())
    return found


def open_for_decisions(
    conn: Connection,
    decided: pl.DataFrame,
    offices: pl.DataFrame,
    hits: pl.DataFrame | None = None,
) -> int:
    """Open a case for each red or orange decision and each watchlist hit (declaration_id,
    matched) whose declaration has no case open yet; the number opened. ``offices``
    (declaration_id, office) places the cases in their office's queue."""
    if not decided["channel"].is_in(OPENING_CHANNELS).any() and (hits is None or hits.is_empty()):
        return 0  # most declarations: nothing to open, and nothing to pay for finding out
    minor = (pl.col("revenue_at_stake") * 100).round(0).cast(pl.Int64)
    decided = decided.join(offices, on="declaration_id", how="left").with_columns(
        minor.alias("revenue_at_stake_minor")
    )
    priority = ["score", "revenue_at_stake_minor"]
    chosen = decided.filter(pl.col("channel").is_in(OPENING_CHANNELS))
    # the summary is stored words: said in Python, for the few decisions that open a case
    said = [_summary(c, r) for c, r in chosen.select("channel", "reasons").iter_rows()]
    opening = chosen.select(
        "declaration_id",
        "office",
        pl.lit("decision").alias("origin"),
        pl.Series("reason", said, pl.String),
        *priority,
    )
    if hits is not None and hits.height:
        watched = (
            hits.group_by("declaration_id", maintain_order=True)
            .agg(pl.col("matched").str.join("; ").alias("reason"))
            .join(decided.select("declaration_id", "office", *priority), on="declaration_id")
            .filter(~pl.col("declaration_id").is_in(opening["declaration_id"].implode()))
            .select(
                "declaration_id",
                "office",
                pl.lit("watchlist").alias("origin"),
                "reason",
                *priority,
            )
        )
        opening = pl.concat([opening, watched])
    if not opening.height:
        return 0
    already = _open_declarations(conn, opening["declaration_id"].to_list())
    opening = opening.filter(~pl.col("declaration_id").is_in(list(already)))
    if not opening.height:
        return 0
    now = audit.now()
    bulk_insert(
        conn,
        cases.name,
        opening.with_columns(
            pl.lit(Status.OPEN.value).alias("status"),
            pl.lit(SELECTIVITY).alias("opened_by"),
            pl.lit(now).alias("opened_at"),
        ),
    )
    by_origin = dict(opening.group_by("origin").len().iter_rows())
    audit.record(conn, SELECTIVITY, "cases.open", "cases", None, None, by_origin)
    return opening.height


def open_for_rows(
    conn: Connection,
    decided: list[dict],
    offices: dict[str, str | None],
    hits: pl.DataFrame | None = None,
) -> int:
    """``open_for_decisions`` for a few decisions as dicts (a lodgement)."""
    opening = {
        d["declaration_id"]: _opening(d, offices, "decision", _decision_reason(d))
        for d in decided
        if d["channel"] in OPENING_CHANNELS
    }
    if hits is not None and hits.height:
        matched: dict[str, list[str]] = {}
        for hit in hits.iter_rows(named=True):
            matched.setdefault(hit["declaration_id"], []).append(hit["matched"])
        for d in decided:
            if d["declaration_id"] in matched and d["declaration_id"] not in opening:
                reason = "; ".join(matched[d["declaration_id"]])
                opening[d["declaration_id"]] = _opening(d, offices, "watchlist", reason)
    if not opening:
        return 0
    already = _open_declarations(conn, list(opening))
    rows = [case for declaration_id, case in opening.items() if declaration_id not in already]
    if not rows:
        return 0
    now = audit.now()
    opened = {"status": Status.OPEN.value, "opened_by": SELECTIVITY, "opened_at": now}
    conn.execute(cases.insert(), [row | opened for row in rows])
    by_origin = Counter(row["origin"] for row in rows)
    audit.record(conn, SELECTIVITY, "cases.open", "cases", None, None, dict(by_origin))
    return len(rows)


def _decision_reason(decision: dict) -> str:
    return _summary(decision["channel"], decision["reasons"])


def _summary(channel: str, reasons: list[str]) -> str:
    """A decision's case, in stored words: its channel and first three reasons in English."""
    return f"channel {channel}: " + "; ".join(render_all((reasons or [])[:3]))


def _opening(decision: dict, offices: dict, origin: str, reason: str) -> dict:
    revenue = decision["revenue_at_stake"]
    return {
        "declaration_id": decision["declaration_id"],
        "office": offices.get(decision["declaration_id"]),
        "origin": origin,
        "reason": reason,
        "score": decision["score"],
        "revenue_at_stake_minor": None if revenue is None else round(revenue * 100),
    }


def open_case(
    engine: Engine,
    reason: str,
    actor: str,
    declaration_id: str | None = None,
    office: str | None = None,
) -> int:
    """An analyst's own suspicion: a case on a declaration, or on none yet."""
    values = dict(
        declaration_id=declaration_id,
        office=office,
        origin="analyst",
        reason=reason,
        status=Status.OPEN.value,
        opened_by=actor,
        opened_at=audit.now(),
    )
    with engine.begin() as conn:
        case_id = conn.execute(cases.insert().values(**values)).inserted_primary_key[0]
        audit.record(conn, actor, "case.open", "case", case_id, None, values)
    return case_id


def queue(
    engine: Engine,
    office: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict]:
    """Cases by priority: highest score first, then most revenue at stake, oldest first."""
    query = select(cases)
    for column, value in (
        (cases.c.office, office),
        (cases.c.status, status),
        (cases.c.assignee, assignee),
    ):
        if value is not None:
            query = query.where(column == value)
    query = query.order_by(
        cases.c.score.desc().nulls_last(),
        cases.c.revenue_at_stake_minor.desc().nulls_last(),
        cases.c.case_id,
    )
    with engine.connect() as conn:
        rows = conn.execute(query.limit(limit).offset(offset)).all()
    return [_case(row) for row in rows]


def counts(engine: Engine) -> list[dict]:
    """Cases per office and status."""
    query = select(cases.c.office, cases.c.status, func.count().label("cases")).group_by(
        cases.c.office, cases.c.status
    )
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query.order_by(cases.c.office))]


def _case(row) -> dict:
    case = dict(row._mapping)
    minor = case.pop("revenue_at_stake_minor")
    case["revenue_at_stake"] = None if minor is None else minor / 100
    return case


def acts_for_another(engine: Engine, case_id: int, username: str, role: str) -> str | None:
    """Who else the case is assigned to, when ``username`` is an inspector and it is not
    theirs (inspectors act on their own cases and on those nobody holds yet)."""
    if role != "inspector":
        return None
    with engine.connect() as conn:
        assignee = _row(conn, case_id).assignee
    return assignee if assignee not in (None, username) else None


def _row(conn: Connection, case_id: int):
    row = conn.execute(select(cases).where(cases.c.case_id == case_id)).first()
    if row is None:
        raise CaseNotFound(f"no case {case_id}")
    return row


def _of_case(conn: Connection, table, case_id: int, order) -> list[dict]:
    query = select(table).where(table.c.case_id == case_id).order_by(order)
    return [dict(r._mapping) for r in conn.execute(query)]


def get_case(engine: Engine, case_id: int) -> dict:
    """The case with its notes, attachments and the inspection results recorded on it."""
    with engine.connect() as conn:
        case = _case(_row(conn, case_id))
        case["notes"] = _of_case(conn, case_notes, case_id, case_notes.c.note_id)
        case["attachments"] = _of_case(conn, attachments, case_id, attachments.c.attachment_id)
        case["results"] = _of_case(
            conn, inspection_outcomes, case_id, inspection_outcomes.c.outcome_id
        )
    return case


def _change(conn: Connection, case_id: int, actor: str, action: str, **values) -> None:
    row = _row(conn, case_id)
    before = {k: row._mapping[k] for k in values}
    conn.execute(update(cases).where(cases.c.case_id == case_id).values(**values))
    audit.record(conn, actor, action, "case", case_id, before, values)


def assign(engine: Engine, case_id: int, assignee: str, actor: str) -> None:
    with engine.begin() as conn:
        role = conn.execute(
            select(users.c.role).where(users.c.username == assignee, users.c.active == 1)
        ).scalar()
        if role not in ASSIGNABLE_ROLES:
            raise CaseError(f"assignee {assignee!r}: not an active inspector, analyst or admin")
        _change(conn, case_id, actor, "case.assign", assignee=assignee)


def set_status(conn: Connection, case_id: int, status: str, actor: str) -> None:
    """Move the case along: open → in_inspection → closed (and reopen)."""
    try:
        status = Status(status)
    except ValueError:
        raise CaseError(f"status {status!r}: expected one of {[s.value for s in Status]}") from None
    current = Status(_row(conn, case_id).status)
    if status not in MOVES[current]:
        raise CaseError(f"case {case_id} is {current}: it cannot become {status}")
    closed_at = audit.now() if status is Status.CLOSED else None
    _change(conn, case_id, actor, "case.status", status=status.value, closed_at=closed_at)


def add_note(engine: Engine, case_id: int, text: str, author: str) -> int:
    if not text.strip():
        raise CaseError("text: a note cannot be empty")
    with engine.begin() as conn:
        _row(conn, case_id)
        values = dict(case_id=case_id, author=author, written_at=audit.now(), text=text)
        note_id = conn.execute(case_notes.insert().values(**values)).inserted_primary_key[0]
        audit.record(
            conn, author, "case.note", "case", case_id, None, {"note_id": note_id, "text": text}
        )
    return note_id
