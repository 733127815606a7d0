"""Cases: opened by a red or orange decision, a watchlist hit or an analyst; queued by
office and priority, assigned, noted, inspected and closed. Every change is audited."""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

import polars as pl
from sqlalchemy import Connection, Engine, bindparam, func, select, update

from tamis import audit
from tamis.reasons import parse, reason, render
from tamis.refusals import Refusal
from tamis.store.load import bulk_insert
from tamis.store.tables import (
    attachments,
    case_notes,
    cases,
    declarations,
    inspection_outcomes,
    users,
)
from tamis.users import User

OPENING_CHANNELS = ("red", "orange")
SELECTIVITY = "selectivity"  # the actor that opens cases from decisions


class Status(StrEnum):
    OPEN = "open"
    IN_INSPECTION = "in_inspection"
    CLOSED = "closed"


# The plain moves. A case closes only through its inspection result (``results``) or, with
# the reason said, as closed without inspection: never by a click that loses the result.
MOVES = {
    Status.OPEN: {Status.IN_INSPECTION},
    Status.IN_INSPECTION: {Status.OPEN},
    Status.CLOSED: {Status.OPEN},
}
CLOSING = (Status.OPEN, Status.IN_INSPECTION)
ASSIGNABLE_ROLES = ("admin", "analyst", "inspector", "supervisor")


class CaseError(Refusal):
    """A case cannot change as asked; the message says why."""


class ClosingRefused(CaseError):
    """A plain close, or one without inspection whose reason is not said."""


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
    # the summary is a reason built in Python, for the few decisions that open a case
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
    """A decision's case, as a reason: its channel and first three reasons, said in the
    reader's language wherever it is shown."""
    quoted = [parse(r) or r for r in (reasons or [])[:3]]
    return reason("case.decision", channel=channel, reasons=quoted)


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


def in_words(case: dict, language: str = "en") -> dict:
    """A case as programs are given it: its reason in words (stored as a code where it
    has one)."""
    return case | {"reason": render(case["reason"], language)}


def _case(row) -> dict:
    case = dict(row._mapping)
    minor = case.pop("revenue_at_stake_minor")
    case["revenue_at_stake"] = None if minor is None else minor / 100
    return case


def not_theirs(engine: Engine, case_id: int, user: User) -> str | None:
    """Why ``user`` may not act on the case, None when they may. An inspector acts on the
    cases assigned to them and on the unassigned cases of their office, never on another's;
    the other officers on any case."""
    if user.role != "inspector":
        return None
    with engine.connect() as conn:
        case = _row(conn, case_id)
    if case.assignee == user.username:
        return None
    if case.assignee is not None:
        return f"case {case_id} is assigned to {case.assignee}, not to {user.username}"
    if user.office is not None and case.office == user.office:
        return None
    return (
        f"case {case_id} is unassigned at office {case.office or 'none'}: "
        f"{user.username} takes the unassigned cases of office {user.office or 'none'}"
    )


def _row(conn: Connection, case_id: int):
    row = conn.execute(select(cases).where(cases.c.case_id == case_id)).first()
    if row is None:
        raise CaseNotFound(f"no case {case_id}")
    return row


def of_declaration(conn: Connection, declaration_id: str) -> list[dict]:
    """The declaration's cases (case_id, status, assignee), newest first."""
    query = (
        select(cases.c.case_id, cases.c.status, cases.c.assignee)
        .where(cases.c.declaration_id == declaration_id)
        .order_by(cases.c.case_id.desc())
    )
    return [dict(r._mapping) for r in conn.execute(query)]


def of_importer(conn: Connection, importer_id: str, limit: int = 20) -> tuple[dict, list[dict]]:
    """The importer's cases: how many per status, and the latest ``limit`` (newest first)."""
    theirs = cases.c.declaration_id.in_(
        select(declarations.c.declaration_id).where(declarations.c.importer_id == importer_id)
    )
    counted = select(cases.c.status, func.count()).where(theirs).group_by(cases.c.status)
    by_status = {status: n for status, n in conn.execute(counted)}
    latest = conn.execute(
        select(cases.c.case_id, cases.c.declaration_id, cases.c.status, cases.c.assignee,
               cases.c.opened_at, cases.c.closure_reason)
        .where(theirs)
        .order_by(cases.c.case_id.desc())
        .limit(limit)
    )  # fmt: skip
    return by_status, [dict(r._mapping) for r in latest]


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
            raise CaseError(
                f"assignee {assignee!r}: not an active inspector, analyst or admin",
                "case.assignee_unknown",
                field="assignee",
                assignee=assignee,
            )
        _change(conn, case_id, actor, "case.assign", assignee=assignee)


def set_status(
    conn: Connection, case_id: int, status: str, actor: str, reason: str | None = None
) -> None:
    """Move the case: open ⇄ in_inspection, or reopen it. ``closed`` closes it without
    inspection and needs ``reason``; a case closes otherwise only through its result."""
    try:
        status = Status(status)
    except ValueError:
        raise CaseError(
            f"status {status!r}: expected one of {[s.value for s in Status]}",
            "case.status_unknown",
            field="status",
            status=status,
            expected=list(Status),
        ) from None
    if status is Status.CLOSED:
        close_without_inspection(conn, case_id, reason, actor)
        return
    current = Status(_row(conn, case_id).status)
    if status not in MOVES[current]:
        raise CaseError(
            f"case {case_id} is {current}: it cannot become {status}",
            "case.cannot_become",
            case_id=case_id,
            current=current,
            status=status,
        )
    reopened = {"closure_reason": None} if current is Status.CLOSED else {}
    _change(conn, case_id, actor, "case.status", status=status.value, closed_at=None, **reopened)


def _closable(conn: Connection, case_id: int) -> None:
    current = Status(_row(conn, case_id).status)
    if current not in CLOSING:
        raise CaseError(
            f"case {case_id} is {current}: reopen it first",
            "case.reopen_first",
            case_id=case_id,
            current=current,
        )


def close_with_result(conn: Connection, case_id: int, actor: str) -> None:
    """Close the case on the inspection result just recorded (``results``)."""
    _closable(conn, case_id)
    _change(conn, case_id, actor, "case.status", status=Status.CLOSED.value, closed_at=audit.now())


def close_without_inspection(
    conn: Connection, case_id: int, reason: str | None, actor: str
) -> None:
    """Close the case with no inspection result, saying why (kept, audited, shown)."""
    reason = (reason or "").strip()
    if not reason:
        raise ClosingRefused(
            f"reason: case {case_id} closes through its inspection result; to close it "
            "without inspection, say why"
        )
    _closable(conn, case_id)
    _change(
        conn, case_id, actor, "case.close_without_inspection",
        status=Status.CLOSED.value, closed_at=audit.now(), closure_reason=reason,
    )  # fmt: skip


def add_note(engine: Engine, case_id: int, text: str, author: str) -> int:
    if not text.strip():
        raise CaseError("text: a note cannot be empty", "case.note_empty", field="text")
    with engine.begin() as conn:
        _row(conn, case_id)
        values = dict(case_id=case_id, author=author, written_at=audit.now(), text=text)
        note_id = conn.execute(case_notes.insert().values(**values)).inserted_primary_key[0]
        audit.record(
            conn, author, "case.note", "case", case_id, None, {"note_id": note_id, "text": text}
        )
    return note_id
