"""Declarations as an analyst asks for them: by office, current channel, lodgement period,
importer, declarant, HS code or chapter, detector and score, sorted and paged with their
total, or every one of them streamed for an export.

The current channel and the detectors that flagged a declaration are read from the
scoreboard's row of it (``scoreboard_declarations``, brought up to date first): the same
channel the declaration page shows (an officer's change included) and the same "flagged"
(score ≥ 0.5 or a forced channel) the scoreboard counts per detector, so a scoreboard
figure and the list behind it agree. Filtering on the decisions' JSON signals instead would
parse every decision's JSON at each request. The score is the latest decision's, found
through ``ix_decisions_declaration_latest``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Engine, Select, case, func, literal, select

from tamis.channels import RANK
from tamis.listing.page import PAGE_SIZE, Page, code_range, ordered, paged, streamed
from tamis.scoreboard.update import NOT_ASSESSED, catch_up
from tamis.store.tables import cases, decisions, declarations, items, scoreboard_declarations

d, s, dc = declarations, scoreboard_declarations, decisions
_later = decisions.alias("later")
LATEST_DECISION = (
    select(func.max(_later.c.decision_id))
    .where(_later.c.declaration_id == d.c.declaration_id)
    .correlate(d)
    .scalar_subquery()
)
SCORE = (  # the latest decision's score, from the index alone
    select(_later.c.score)
    .where(_later.c.declaration_id == d.c.declaration_id)
    .order_by(_later.c.decision_id.desc())
    .limit(1)
    .correlate(d)
    .scalar_subquery()
)
SORTS: dict[str, ColumnElement | None] = {
    "lodged": d.c.lodged_at,
    "score": None,  # see _by_score
    "channel": case(RANK, value=s.c.channel),  # least to most control, not alphabetical
    "importer": d.c.importer_id,
}
COLUMNS = (
    d.c.declaration_id, d.c.lodged_at, d.c.office, d.c.importer_id, d.c.importer_name,
    d.c.declarant_id, s.c.channel, dc.c.score, dc.c.revenue_at_stake_minor,
)  # fmt: skip


@dataclass(frozen=True)
class DeclarationFilters:
    """Which declarations: every field left empty selects them all."""

    office: str | None = None
    channel: str | None = None
    lodged_from: date | None = None
    lodged_to: date | None = None
    importer: str | None = None
    declarant: str | None = None
    hs: str | None = None  # an HS code or chapter: its digits, the code's first ones
    detector: str | None = None
    score_min: float | None = None
    score_max: float | None = None


def _flagged_by(detector: str) -> ColumnElement:
    """The detector is one of the comma-separated names of ``flagged``."""
    escaped = detector.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    listed = literal(",") + s.c.flagged + literal(",")
    return listed.like(f"%,{escaped},%", escape="\\")


def _conditions(f: DeclarationFilters, score: ColumnElement = SCORE) -> list[ColumnElement]:
    on_declaration = [
        (f.office, lambda v: d.c.office == v),
        (f.lodged_from, lambda v: d.c.lodged_at >= datetime.combine(v, time())),
        (f.lodged_to, lambda v: d.c.lodged_at < datetime.combine(v + timedelta(days=1), time())),
        (f.importer, lambda v: d.c.importer_id == v),
        (f.declarant, lambda v: d.c.declarant_id == v),
        (f.hs, lambda v: d.c.declaration_id.in_(
            select(items.c.declaration_id).where(code_range(items.c.hs_code, v)))),
        (f.channel, lambda v: s.c.channel == v),
        (f.detector, _flagged_by),
        (f.score_min, lambda v: score >= v),
        (f.score_max, lambda v: score <= v),
    ]  # fmt: skip
    return [condition(value) for value, condition in on_declaration if value is not None]


def _state_read(filters: DeclarationFilters) -> bool:
    return filters.channel is not None or filters.detector is not None


def _matching(filters: DeclarationFilters) -> Select:
    """The ids of the filtered declarations, joined only to what the filters read: a total
    of a million declarations with no filter counts one table."""
    joined = d.join(s, s.c.declaration_id == d.c.declaration_id) if _state_read(filters) else d
    return select(d.c.declaration_id).select_from(joined).where(*_conditions(filters))


def _by_score(filters: DeclarationFilters, descending: bool) -> list[Select]:
    """Declarations by their latest decision's score, then those never assessed: the
    decisions' score index read in order, so that a page of the highest scores of a
    million needs no sort of a million (the order a page of others is read in)."""
    latest = (
        select(func.max(_later.c.decision_id))
        .where(_later.c.declaration_id == dc.c.declaration_id)
        .correlate(dc)
        .scalar_subquery()
    )
    joined = dc.join(d, d.c.declaration_id == dc.c.declaration_id)
    if _state_read(filters):
        joined = joined.join(s, s.c.declaration_id == d.c.declaration_id)
    scored = (
        select(dc.c.declaration_id)
        .select_from(joined)
        .where(dc.c.decision_id == latest, *_conditions(filters, dc.c.score))
    )
    never = _matching(filters).where(
        ~select(_later.c.decision_id).where(_later.c.declaration_id == d.c.declaration_id).exists()
    )
    return [
        ordered(scored, dc.c.score, dc.c.declaration_id, descending),
        never.order_by(d.c.declaration_id.desc() if descending else d.c.declaration_id),
    ]


def selected(
    filters: DeclarationFilters, sort: str = "lodged", descending: bool = True
) -> list[Select]:
    """The ids of the filtered declarations in order, as queries whose rows follow one
    another: only what the filters and the sort read is joined; what a list shows of each
    is read for the page's rows alone."""
    if sort not in SORTS:
        raise ValueError(f"sort {sort!r}: one of {', '.join(SORTS)}")
    if sort == "score":
        return _by_score(filters, descending)
    query = _matching(filters)
    if sort == "channel" and not _state_read(filters):
        query = query.outerjoin(s, s.c.declaration_id == d.c.declaration_id)
    return [ordered(query, SORTS[sort], d.c.declaration_id, descending)]


def _shown_of(conn, ids: list[str]) -> list[dict]:
    """What a list shows of these declarations, in their order."""
    if not ids:
        return []
    joined = d.outerjoin(s, s.c.declaration_id == d.c.declaration_id).outerjoin(
        dc, dc.c.decision_id == LATEST_DECISION
    )
    query = select(*COLUMNS).select_from(joined).where(d.c.declaration_id.in_(ids))
    read = {r.declaration_id: dict(r._mapping) for r in conn.execute(query)}
    return _shown([read[i] for i in ids], conn)


def _shown(rows: list[dict], conn) -> list[dict]:
    """Rows as read, with the channel left empty when not assessed, money in units, and
    each declaration's latest case (if any)."""
    ids = [r["declaration_id"] for r in rows]
    latest_case = dict(
        conn.execute(
            select(cases.c.declaration_id, func.max(cases.c.case_id))
            .where(cases.c.declaration_id.in_(ids))
            .group_by(cases.c.declaration_id)
        ).all()
    ) if ids else {}  # fmt: skip
    for row in rows:
        if row["channel"] == NOT_ASSESSED:
            row["channel"] = None
        minor = row.pop("revenue_at_stake_minor")
        row["revenue_at_stake"] = None if minor is None else Decimal(minor) / 100
        row["case_id"] = latest_case.get(row["declaration_id"])
    return rows


def declarations_page(
    engine: Engine,
    filters: DeclarationFilters,
    sort: str = "lodged",
    descending: bool = True,
    number: int = 1,
    size: int = PAGE_SIZE,
) -> Page:
    """Page ``number`` (from 1) of the filtered declarations and how many there are."""
    catch_up(engine)
    with engine.connect() as conn:
        keys, total = paged(
            conn, selected(filters, sort, descending), _matching(filters), number, size
        )
        return Page(_shown_of(conn, [k["declaration_id"] for k in keys]), total, number, size)


def all_declarations(
    engine: Engine, filters: DeclarationFilters, sort: str = "lodged", descending: bool = True
) -> Iterator[dict]:
    """Every filtered declaration in order, read from the cursor ``EXPORT_CHUNK`` at a time."""
    catch_up(engine)
    with engine.connect() as conn:
        for chunk in streamed(conn, selected(filters, sort, descending)):
            yield from _shown_of(conn, [k["declaration_id"] for k in chunk])


EXPORTED: Sequence[str] = (
    "declaration_id", "lodged_at", "office", "importer_id", "importer_name", "declarant_id",
    "channel", "score", "revenue_at_stake", "case_id",
)  # fmt: skip
