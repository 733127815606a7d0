"""What every list shares: a page of rows with the total they were taken from, the page
asked for, the sort keys a list allows, an HS code or chapter as an index range."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, and_, func, select

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
EXPORT_CHUNK = 1000  # rows read from the cursor at a time when an export streams


@dataclass(frozen=True)
class Page:
    """The page of ``rows`` (1-based ``number``) out of ``total`` selected rows."""

    rows: list[dict[str, Any]]
    total: int
    number: int
    size: int

    @property
    def first(self) -> int:
        """The position of the page's first row (0 when there is none)."""
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


def ordered(query: Select, key: ColumnElement, tie: ColumnElement, descending: bool) -> Select:
    """Sorted on ``key`` (empty values last whatever the direction), then ``tie`` for a
    stable order across pages. A key that cannot be empty is sorted plainly: "NULLS LAST"
    on it would keep PostgreSQL from reading its index backwards."""
    nullable = getattr(key, "nullable", True)
    if descending:
        return query.order_by(key.desc().nulls_last() if nullable else key.desc(), tie.desc())
    return query.order_by(key.asc().nulls_last() if nullable else key.asc(), tie.asc())


def count_of(query: Select) -> Select:
    """How many rows ``query`` selects, as a query."""
    return select(func.count()).select_from(query.order_by(None).subquery())


def paged(
    conn: Connection, parts: Sequence[Select], total: int, number: int, size: int
) -> list[dict]:
    """The rows of page ``number`` of ``parts`` (queries whose rows follow one another) out
    of ``total``. A part is counted only when a page starts beyond it."""
    offset, rows = (number - 1) * size, []
    if offset >= total:
        return rows
    for part in parts:
        got = [dict(r._mapping) for r in conn.execute(part.limit(size - len(rows)).offset(offset))]
        rows += got
        if len(rows) == size:
            break
        offset = 0 if got else offset - conn.execute(count_of(part)).scalar()
    return rows


def streamed(conn: Connection, parts: Sequence[Select]) -> Iterator[list[dict]]:
    """Every row of ``parts`` in turn, ``EXPORT_CHUNK`` at a time from the cursor."""
    for part in parts:
        result = conn.execution_options(stream_results=True, yield_per=EXPORT_CHUNK).execute(part)
        for chunk in result.partitions():
            yield [dict(r._mapping) for r in chunk]


def code_range(column: ColumnElement, prefix: str) -> ColumnElement:
    """``column`` starts with the digits ``prefix``, as a range an index answers on both
    stores whatever their collation (LIKE 'x%' uses an index on neither by default)."""
    following = str(int(prefix) + 1).zfill(len(prefix))
    if len(following) > len(prefix):  # "99": nothing follows it
        return column >= prefix
    return and_(column >= prefix, column < following)
