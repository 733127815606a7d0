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

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    and_,
    exists,
    func,
    literal,
    or_,
    select,
)

from tamis.channels import RANK
from tamis.listing.page import PAGE_SIZE, Page, code_range, count_of, ordered, paged, streamed
from tamis.scoreboard.update import NOT_ASSESSED, catch_up
from tamis.store.tables import (
    cases,
    decisions,
    declarations,
    items,
    lodged_with,
    lodged_within,
    scoreboard_days,
    scoreboard_declarations,
    scoreboard_detectors,
)

d, s, dc = declarations, scoreboard_declarations, decisions
_later = decisions.alias("later")
LATEST_DECISION = (
    select(func.max(_later.c.decision_id))
    .where(lodged_with(_later, d))
    .correlate(d)
    .scalar_subquery()
)
SCORE = (  # the latest decision's score
    select(_later.c.score)
    .where(lodged_with(_later, d))
    .order_by(_later.c.decision_id.desc())
    .limit(1)
    .correlate(d)
    .scalar_subquery()
)
CHANNEL = (  # the current channel, read for one declaration at a time
    select(s.c.channel).where(s.c.declaration_id == d.c.declaration_id).correlate(d)
).scalar_subquery()
SORTS = ("lodged", "score", "channel", "importer")
ORDERED_BY = {"lodged": d.c.lodged_at, "importer": d.c.importer_id}
# On SQLite, a selection of at most this many is gathered whole then sorted; a larger one
# is walked in the sort's order, each declaration checked, until the page is full.
GATHERED = 500
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

    @property
    def by_state(self) -> bool:
        """Whether the scoreboard's row of a declaration is read (channel, detectors)."""
        return self.channel is not None or self.detector is not None


def _flagged_by(detector: str) -> ColumnElement:
    """The detector is one of the comma-separated names of ``flagged``."""
    escaped = detector.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    listed = literal(",") + s.c.flagged + literal(",")
    return listed.like(f"%,{escaped},%", escape="\\")


def _classified(hs: str, walk: bool) -> ColumnElement:
    """An item of the declaration is classified under ``hs``: checked for the declaration
    (walking), or the declaration among those the HS code index gives (gathering)."""
    under = code_range(items.c.hs_code, hs)
    if walk:
        return exists().where(items.c.declaration_id == d.c.declaration_id, under)
    return d.c.declaration_id.in_(select(items.c.declaration_id).where(under))


def _conditions(
    f: DeclarationFilters,
    score: ColumnElement = SCORE,
    walk: bool = False,
    walked: ColumnElement | None = None,
) -> list[ColumnElement]:
    """The filters as conditions. Walking, each declaration met in the order of the
    ``walked`` column (or index) is checked: the HS code and the scoreboard's row are read
    for it, and no other column's index may be chosen instead (without statistics, SQLite
    would take an office's 300,000 declarations and sort them). Gathering, the items under
    an HS code are a set and the scoreboard's rows are joined (see ``_matching``)."""

    # the office and lodgement index walks an office's declarations by date
    indexed = {walked, d.c.office} if walked is d.c.lodged_at else {walked}

    def checked(column: ColumnElement) -> ColumnElement:
        kept = any(column is c for c in indexed)
        return func.coalesce(column, column) if walk and not kept else column

    on_declaration = [
        (f.office, lambda v: checked(d.c.office) == v),
        (f.lodged_from, lambda v: checked(d.c.lodged_at) >= datetime.combine(v, time())),
        (f.lodged_to, lambda v: checked(d.c.lodged_at) < _day_after(v)),
        (f.importer, lambda v: checked(d.c.importer_id) == v),
        (f.declarant, lambda v: checked(d.c.declarant_id) == v),
        (f.hs, lambda v: _classified(v, walk)),
        (f.channel, lambda v: (CHANNEL if walk else s.c.channel) == v),
        (f.detector, lambda v: exists().where(
            s.c.declaration_id == d.c.declaration_id, _flagged_by(v)
        ) if walk else _flagged_by(v)),
        (f.score_min, lambda v: score >= v),
        (f.score_max, lambda v: score <= v),
    ]  # fmt: skip
    return [condition(value) for value, condition in on_declaration if value is not None]


def _matching(
    filters: DeclarationFilters, walk: bool = False, walked: ColumnElement | None = None
) -> Select:
    """The ids of the filtered declarations, joined only to what the filters read: a total
    of a million declarations with no filter counts one table."""
    joined = d
    if filters.by_state and not walk:
        joined = d.join(s, s.c.declaration_id == d.c.declaration_id)
    conditions = _conditions(filters, walk=walk, walked=walked)
    return select(d.c.declaration_id).select_from(joined).where(*conditions)


def _total(filters: DeclarationFilters) -> Select:
    """How many declarations the filters select, as a query. Filtered by channel or by
    detector, and otherwise at most by office and period, the scoreboard's sums per office,
    day and channel (or detector) answer it: they count the same rows of the scoreboard the
    list reads (brought up to date first), a few thousand sums instead of a million rows."""
    f = filters
    if f.score_min is not None or f.score_max is not None:  # never-assessed ones are out
        return count_of(_scored(f))
    if any(v is not None for v in (f.importer, f.declarant, f.hs)):
        return count_of(_matching(f))
    if f.channel is not None and f.detector is None:
        sums, measure, kept = (
            scoreboard_days,
            "declarations",
            scoreboard_days.c.channel == f.channel,
        )
    elif f.detector is not None and f.channel is None:
        sums, measure = scoreboard_detectors, "flagged"
        kept = scoreboard_detectors.c.detector == f.detector
    else:
        return count_of(_matching(f))
    chosen = [
        (f.office, lambda v: sums.c.office == v),
        (f.lodged_from, lambda v: sums.c.day >= v),
        (f.lodged_to, lambda v: sums.c.day <= v),
    ]
    where = [kept, *(condition(v) for v, condition in chosen if v is not None)]
    return select(func.sum(sums.c[measure])).where(*where)


def _scored(filters: DeclarationFilters, walk: bool = False) -> Select:
    """The ids of the filtered declarations that were assessed, read from their latest
    decisions (the score index answers a score range, or walks the scores in order)."""
    latest = (
        select(func.max(_later.c.decision_id))
        .where(lodged_with(_later, dc))
        .correlate(dc)
        .scalar_subquery()
    )
    joined = dc.join(d, d.c.declaration_id == dc.c.declaration_id)
    if filters.by_state and not walk:
        joined = joined.join(s, s.c.declaration_id == d.c.declaration_id)
    conditions = _conditions(filters, dc.c.score, walk, dc.c.score)
    return (
        select(dc.c.declaration_id)
        .select_from(joined)
        .where(dc.c.decision_id == latest, *conditions, *_within_period(filters, dc.c.lodged_at))
    )


def _by_score(filters: DeclarationFilters, descending: bool, walk: bool) -> list[Select]:
    """Declarations by their latest decision's score, then those never assessed: the
    decisions' score index read in order, so that a page of the highest scores of a
    million needs no sort of a million."""
    never = _matching(filters, walk, d.c.declaration_id).where(
        ~select(_later.c.decision_id).where(lodged_with(_later, d)).exists()
    )
    return [
        ordered(_scored(filters, walk), dc.c.score, dc.c.declaration_id, descending),
        never.order_by(d.c.declaration_id.desc() if descending else d.c.declaration_id),
    ]


def _by_channel(filters: DeclarationFilters, descending: bool, walk: bool) -> list[Select]:
    """One part per channel, most control first (or last), then the declarations never
    assessed; each in the order of their ids, the primary key's."""
    channels = sorted(RANK, key=RANK.get, reverse=descending)
    if filters.channel is not None:
        channels = [filters.channel]
    tie = d.c.declaration_id.desc() if descending else d.c.declaration_id
    matching = _matching(filters, walk, d.c.declaration_id)
    parts = [matching.where(CHANNEL == c).order_by(tie) for c in channels]
    if filters.channel is None:
        unassessed = or_(CHANNEL.is_(None), CHANNEL == NOT_ASSESSED)
        parts.append(matching.where(unassessed).order_by(tie))
    return parts


def _walks(conn: Connection, filters: DeclarationFilters, total: int) -> bool:
    """Whether a page is found by walking the sort's order rather than gathering the
    selection: on SQLite, which plans without statistics, for a large selection that is
    not one importer's or declarant's (their indexes give a few thousand at most).
    PostgreSQL's planner chooses from its statistics, given the gathering query."""
    if conn.dialect.name != "sqlite" or filters.importer or filters.declarant:
        return False
    return total > GATHERED


def selected(
    filters: DeclarationFilters, sort: str = "lodged", descending: bool = True, walk: bool = True
) -> list[Select]:
    """The ids of the filtered declarations in order, as queries whose rows follow one
    another (``walk``: see ``GATHERED``); what a list shows of each is read for the page's
    rows alone."""
    if sort not in SORTS:
        raise ValueError(f"sort {sort!r}: one of {', '.join(SORTS)}")
    if sort == "score":
        return _by_score(filters, descending, walk)
    if sort == "channel":
        return _by_channel(filters, descending, walk)
    key = ORDERED_BY[sort]
    return [ordered(_matching(filters, walk, key), key, d.c.declaration_id, descending)]


def _day_after(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time())


def _within_period(f: DeclarationFilters, lodged_at: ColumnElement) -> list[ColumnElement]:
    """The filters' lodgement period on ``lodged_at`` (a declaration's, or its decisions'),
    for reading rows already selected: on PostgreSQL only its months' partitions are read."""
    since = None if f.lodged_from is None else datetime.combine(f.lodged_from, time())
    return lodged_within(since, None if f.lodged_to is None else _day_after(f.lodged_to), lodged_at)


def _shown_of(conn, ids: list[str], filters: DeclarationFilters) -> list[dict]:
    """What a list shows of these declarations (selected by ``filters``), in their order."""
    if not ids:
        return []
    latest = and_(
        dc.c.decision_id == LATEST_DECISION,
        lodged_with(dc, d),
        *_within_period(filters, dc.c.lodged_at),
    )
    joined = d.outerjoin(s, s.c.declaration_id == d.c.declaration_id).outerjoin(dc, latest)
    query = (
        select(*COLUMNS)
        .select_from(joined)
        .where(d.c.declaration_id.in_(ids), *_within_period(filters, d.c.lodged_at))
    )
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


def _count(conn, filters: DeclarationFilters) -> int:
    """How many declarations the filters select (an int: PostgreSQL sums the scoreboard's
    counts as NUMERIC, whose floor division truncates and miscounted the pages)."""
    return int(conn.execute(_total(filters)).scalar() or 0)


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
        total = _count(conn, filters)
        parts = selected(filters, sort, descending, _walks(conn, filters, total))
        keys = paged(conn, parts, total, number, size)
        return Page(
            _shown_of(conn, [k["declaration_id"] for k in keys], filters), total, number, size
        )


def all_declarations(
    engine: Engine, filters: DeclarationFilters, sort: str = "lodged", descending: bool = True
) -> Iterator[dict]:
    """Every filtered declaration in order, read from the cursor ``EXPORT_CHUNK`` at a time."""
    catch_up(engine)
    with engine.connect() as conn:
        walk = _walks(conn, filters, _count(conn, filters))
        for chunk in streamed(conn, selected(filters, sort, descending, walk)):
            yield from _shown_of(conn, [k["declaration_id"] for k in chunk], filters)


EXPORTED: Sequence[str] = (
    "declaration_id", "lodged_at", "office", "importer_id", "importer_name", "declarant_id",
    "channel", "score", "revenue_at_stake", "case_id",
)  # fmt: skip
