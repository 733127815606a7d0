"""The case queue as the targeting centre works it: by office, status, assignee, the
declaration's current channel, the day a case was opened, importer, HS code or chapter and
how the case came (a decision, a watchlist, an analyst), sorted and paged with the total,
or every case streamed for an export."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, Engine, Select, case, select

from tamis.channels import RANK
from tamis.listing.page import PAGE_SIZE, Page, code_range, count_of, ordered, paged, streamed
from tamis.scoreboard.update import NOT_ASSESSED, catch_up
from tamis.store.tables import cases, declarations, items, scoreboard_declarations

c, d, s = cases, declarations, scoreboard_declarations
SORTS: dict[str, ColumnElement] = {
    "score": c.c.score,
    "revenue": c.c.revenue_at_stake_minor,
    "opened": c.c.opened_at,
    "office": c.c.office,
    "channel": case(RANK, value=s.c.channel),
    "importer": d.c.importer_id,
}
COLUMNS = (
    c.c.case_id, c.c.office, c.c.declaration_id, d.c.importer_id, s.c.channel, c.c.score,
    c.c.revenue_at_stake_minor, c.c.reason, c.c.origin, c.c.status, c.c.assignee,
    c.c.opened_at,
)  # fmt: skip
EXPORTED: Sequence[str] = (
    "case_id", "office", "declaration_id", "importer_id", "channel", "score",
    "revenue_at_stake", "reason", "origin", "status", "assignee", "opened_at",
)  # fmt: skip


@dataclass(frozen=True)
class CaseFilters:
    """Which cases: every field left empty selects them all."""

    office: str | None = None
    status: str | None = None
    assignee: str | None = None
    channel: str | None = None
    opened_from: date | None = None
    opened_to: date | None = None
    importer: str | None = None
    hs: str | None = None  # an HS code or chapter: its first digits
    origin: str | None = None  # decision, watchlist or analyst


def _conditions(f: CaseFilters) -> list[ColumnElement]:
    on_case = [
        (f.office, lambda v: c.c.office == v),
        (f.status, lambda v: c.c.status == v),
        (f.assignee, lambda v: c.c.assignee == v),
        (f.channel, lambda v: s.c.channel == v),
        (f.opened_from, lambda v: c.c.opened_at >= datetime.combine(v, time())),
        (f.opened_to, lambda v: c.c.opened_at < datetime.combine(v + timedelta(days=1), time())),
        (f.importer, lambda v: d.c.importer_id == v),
        (f.hs, lambda v: c.c.declaration_id.in_(
            select(items.c.declaration_id).where(code_range(items.c.hs_code, v)))),
        (f.origin, lambda v: c.c.origin == v),
    ]  # fmt: skip
    return [condition(value) for value, condition in on_case if value is not None]


def _matching(filters: CaseFilters, sort: str | None = None) -> Select:
    """The ids of the filtered cases, joined only to what the filters (and the sort) read."""
    joined = c
    if filters.importer is not None or sort == "importer":
        joined = joined.outerjoin(d, d.c.declaration_id == c.c.declaration_id)
    if filters.channel is not None or sort == "channel":
        joined = joined.outerjoin(s, s.c.declaration_id == c.c.declaration_id)
    return select(c.c.case_id).select_from(joined).where(*_conditions(filters))


def selected(filters: CaseFilters, sort: str = "score", descending: bool = True) -> Select:
    """The ids of the filtered cases in order; what the queue shows of each is read for
    the page's rows alone."""
    if sort not in SORTS:
        raise ValueError(f"sort {sort!r}: one of {', '.join(SORTS)}")
    return ordered(_matching(filters, sort), SORTS[sort], c.c.case_id, descending)


def _shown_of(conn, ids: list[int]) -> list[dict]:
    """What the queue shows of these cases, in their order: the channel left empty when
    not assessed, money in units."""
    if not ids:
        return []
    joined = c.outerjoin(d, d.c.declaration_id == c.c.declaration_id).outerjoin(
        s, s.c.declaration_id == c.c.declaration_id
    )
    query = select(*COLUMNS).select_from(joined).where(c.c.case_id.in_(ids))
    read = {r.case_id: dict(r._mapping) for r in conn.execute(query)}
    rows = [read[i] for i in ids]
    for row in rows:
        if row["channel"] == NOT_ASSESSED:
            row["channel"] = None
        minor = row.pop("revenue_at_stake_minor")
        row["revenue_at_stake"] = None if minor is None else Decimal(minor) / 100
    return rows


def cases_page(
    engine: Engine,
    filters: CaseFilters,
    sort: str = "score",
    descending: bool = True,
    number: int = 1,
    size: int = PAGE_SIZE,
) -> Page:
    """Page ``number`` (from 1) of the filtered cases and how many there are."""
    catch_up(engine)
    with engine.connect() as conn:
        total = conn.execute(count_of(_matching(filters))).scalar()
        keys = paged(conn, [selected(filters, sort, descending)], total, number, size)
        return Page(_shown_of(conn, [k["case_id"] for k in keys]), total, number, size)


def all_cases(
    engine: Engine, filters: CaseFilters, sort: str = "score", descending: bool = True
) -> Iterator[dict]:
    """Every filtered case in order, streamed from the cursor a chunk at a time."""
    catch_up(engine)
    with engine.connect() as conn:
        for chunk in streamed(conn, [selected(filters, sort, descending)]):
            yield from _shown_of(conn, [k["case_id"] for k in chunk])
