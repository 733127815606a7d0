"""The value-reference database in the store: incremental build, analyst references,
lookups for people, and the audit log of uses.

The build keeps a histogram of log unit values per month (``value_histogram``). A month is
(re)counted only when it is new, when a source holding declarations of that month was
ingested after it was counted, or when a non-compliant outcome on one of its declarations
was recorded after it was counted; references are then recomputed from the histogram,
which is small, and replace the history references in force (the old ones are kept,
marked superseded, so that logged uses still point at what was used).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

import polars as pl
from markupsafe import Markup
from sqlalchemy import Engine, and_, delete, exists, func, or_, select, update

from tamis import audit
from tamis.regions import REGION_OF
from tamis.store.engine import transaction
from tamis.store.load import bulk_insert
from tamis.store.tables import declarations, inspection_outcomes, items, sources
from tamis.valuation import reference as ref
from tamis.valuation.svg import value_chart
from tamis.valuation.tables import value_histogram, value_reference_uses, value_references

Progress = Callable[[int, int | None], None]


def month_number(day: date | datetime) -> int:
    return day.year * 100 + day.month


@dataclass
class BuildSummary:
    window: str
    months_counted: list[int]
    items_counted: int
    references: int
    by_level: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


# --- build -----------------------------------------------------------------------------------


def _read_month(conn, month: int) -> pl.DataFrame:
    """The month's items, with ``known_fraud`` when an outcome found them non-compliant."""
    start, end = ref.month_start(month), ref.month_start(ref.shift_months(month, 1))
    o = inspection_outcomes
    fraud = exists().where(
        o.c.declaration_id == items.c.declaration_id,
        o.c.result == "non_compliant",
        or_(o.c.item_number.is_(None), o.c.item_number == items.c.item_number),
    )
    query = (
        select(
            declarations.c.lodged_at,
            items.c.hs_code,
            items.c.origin_country,
            items.c.quantity,
            items.c.quantity_unit,
            items.c.net_mass_kg,
            (items.c.customs_value_minor / 100.0).label("customs_value"),
            fraud.label("known_fraud"),
        )
        .join_from(declarations, items)
        .where(declarations.c.lodged_at >= start, declarations.c.lodged_at < end)
    )
    schema = {
        "lodged_at": pl.Datetime("us"),
        "hs_code": pl.String,
        "origin_country": pl.String,
        "quantity": pl.Float64,
        "quantity_unit": pl.String,
        "net_mass_kg": pl.Float64,
        "customs_value": pl.Float64,
        "known_fraud": pl.Boolean,
    }
    return pl.DataFrame(conn.execute(query).all(), schema=schema, orient="row")


def _stale_months(conn, months: list[int]) -> list[int]:
    h = value_histogram
    counted = dict(
        conn.execute(select(h.c.month, func.min(h.c.built_at)).group_by(h.c.month)).all()
    )
    stale = {m for m in months if m not in counted}
    spans = conn.execute(
        select(
            func.min(declarations.c.lodged_at),
            func.max(declarations.c.lodged_at),
            sources.c.last_ingested_at,
        )
        .join_from(declarations, sources, declarations.c.source_id == sources.c.source_id)
        .group_by(sources.c.source_id, sources.c.last_ingested_at)
    )
    for first, last, ingested in spans:
        stale |= {
            m
            for m in months
            if month_number(first) <= m <= month_number(last)
            and counted.get(m, ingested) < ingested
        }
    outcomes = conn.execute(
        select(declarations.c.lodged_at, inspection_outcomes.c.recorded_at)
        .join_from(inspection_outcomes, declarations)
        .where(inspection_outcomes.c.result == "non_compliant")
    )
    for lodged, recorded in outcomes:
        m = month_number(lodged)
        if m in counted and counted[m] < recorded:
            stale.add(m)
    return sorted(m for m in stale if m in months)


def data_months(engine: Engine) -> tuple[int, int] | None:
    """The month of the first lodgement and the month after the last (yyyymm), if any."""
    lodged = declarations.c.lodged_at
    with engine.connect() as conn:
        first, last = conn.execute(select(func.min(lodged), func.max(lodged))).one()
    return (month_number(first), ref.shift_months(month_number(last), 1)) if first else None


def build(
    engine: Engine,
    window_months: int = 12,
    until: date | None = None,
    min_n: int = ref.MIN_N,
    full: bool = False,
    progress: Progress | None = None,
) -> BuildSummary:
    """Update the histogram of the window's months and replace the history references.

    The window is the ``window_months`` whole months before ``until`` (default: the month
    after the last lodgement). ``full`` recounts every month of the window.
    """
    started = time.perf_counter()
    span = data_months(engine)
    if span is None:
        return BuildSummary("empty store", [], 0, 0)
    end = month_number(until) if until else span[1]
    first = max(ref.shift_months(end, -window_months), span[0])
    months = [m for m in (ref.shift_months(first, k) for k in range(window_months)) if m < end]
    with engine.connect() as conn:
        stale = months if full else _stale_months(conn, months)
    counted = 0
    for done, month in enumerate(stale):
        if progress:
            progress(done, len(stale))
        with engine.begin() as conn:
            frame = _read_month(conn, month)
            counted += frame.height
            conn.execute(delete(value_histogram).where(value_histogram.c.month == month))
            bins = ref.histogram(frame).with_columns(pl.lit(audit.now()).alias("built_at"))
            if bins.height:
                bulk_insert(conn, value_histogram.name, bins)
    if progress:
        progress(len(stale), len(stale))

    with engine.connect() as conn:
        hist = pl.read_database(
            select(value_histogram).where(value_histogram.c.month.between(first, end - 1)),
            conn,
            schema_overrides={"bin": pl.Int32, "items": pl.Int64, "month": pl.Int64},
        )
    refs = ref.references(hist.drop("built_at"), (first, end), min_n, audit.now())
    save_references(engine, refs, "history")
    window = f"{ref.month_start(first):%Y-%m} to {ref.month_start(ref.shift_months(end, -1)):%Y-%m}"
    return BuildSummary(
        window,
        stale,
        counted,
        refs.height,
        dict(refs.group_by("level").len().sort("level").iter_rows()),
        round(time.perf_counter() - started, 2),
    )


def save_references(engine: Engine, refs: pl.DataFrame, source: str) -> None:
    """Put ``refs`` in force for ``source``, superseding that source's previous ones."""
    with engine.begin() as conn:
        conn.execute(
            update(value_references)
            .where(value_references.c.source == source, value_references.c.superseded_at.is_(None))
            .values(superseded_at=audit.now())
        )
        if refs.height:
            bulk_insert(conn, value_references.name, refs.drop("reference_id"))


def load_analyst(engine: Engine, path: str, source: str) -> int:
    """Load analyst references from a CSV file (see ``reference.analyst_references``)."""
    if source == "history":
        raise ValueError("source: 'history' is reserved for references built from declarations")
    frame = pl.read_csv(path, schema_overrides={"hs_code": pl.String, "origin": pl.String})
    refs = ref.analyst_references(frame, source, audit.now())
    save_references(engine, refs, source)
    return refs.height


# The references in force as last read, by engine: thousands of rows that a declaration's
# page and each of its charts need, and that change only when a build or an analyst's
# load adds or supersedes some (which changes how many are in force, or the newest id).
_in_force: weakref.WeakKeyDictionary[Engine, tuple[tuple, pl.DataFrame]] = (
    weakref.WeakKeyDictionary()
)


def current_references(engine: Engine) -> pl.DataFrame:
    """Every reference in force, ``REFERENCE_SCHEMA``; read again only when they changed."""
    v = value_references.c
    in_force = v.superseded_at.is_(None)
    query = select(*(v[c] for c in ref.REFERENCE_SCHEMA)).where(in_force)
    version = select(func.count(), func.max(v.reference_id), func.max(v.built_at)).where(in_force)
    with engine.connect() as conn:
        mark = tuple(conn.execute(version).one())
        kept = _in_force.get(engine)
        if kept is not None and kept[0] == mark:
            return kept[1]
        rows = conn.execute(query).all()
    frame = pl.DataFrame(rows, schema=ref.REFERENCE_SCHEMA, orient="row")
    _in_force[engine] = (mark, frame)
    return frame


# --- uses and lookups ------------------------------------------------------------------------


def log_uses(engine_or_conn, scored: pl.DataFrame, used_at: datetime) -> int:
    """Record each reference that produced a signal (``ValuationDetector.assess_items``)."""
    rows = scored.filter(pl.col("ref_reference_id").is_not_null()).select(
        "declaration_id",
        "item_number",
        pl.col("ref_reference_id").alias("reference_id"),
        "basis",
        pl.col("uv").alias("declared_uv"),
        "score",
        "direction",
        pl.lit(used_at).alias("used_at"),
    )
    if rows.height:
        with transaction(engine_or_conn) as conn:
            bulk_insert(conn, value_reference_uses.name, rows)
    return rows.height


def distribution(engine: Engine, reference: dict) -> pl.DataFrame:
    """The histogram behind a history reference: v (log unit value), items."""
    h = value_histogram
    level, hs = reference["level"], reference["hs_code"]
    where = [
        # HS codes are digits: the range finds the prefix's codes in the index (a LIKE on a
        # bound prefix reads every month of every code), startswith keeps the query exact
        h.c.hs_code.between(hs, hs + "9" * (10 - len(hs))),
        h.c.hs_code.startswith(hs),
        h.c.basis == reference["basis"],
        h.c.month >= month_number(reference["window_start"]),
        h.c.month < month_number(reference["window_end"]),
    ]
    if level.endswith("/origin"):
        where.append(h.c.origin == reference["origin"])
    elif level.endswith("/region"):
        where.append(h.c.origin.in_([c for c, r in REGION_OF.items() if r == reference["origin"]]))
    query = (
        select(h.c.bin, func.sum(h.c["items"]).label("items")).where(and_(*where)).group_by(h.c.bin)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    frame = pl.DataFrame(rows, schema={"bin": pl.Int64, "items": pl.Int64}, orient="row")
    return frame.select((pl.col("bin") * ref.BIN_WIDTH).alias("v"), "items").sort("v")


def svg_chart(engine: Engine, report: dict, t) -> Markup:
    """SVG of a ``reference_report`` in the language of ``t`` (a page's ``Translator``):
    drawn on each request, its bins read from an index, in a few milliseconds."""
    r = report["reference"]
    bins = distribution(engine, r) if r["source"] == "history" else None
    declared = report.get("assessment", {}).get("declared_uv")
    return value_chart(r, bins, declared, report["currency"], t)


# PNG charts drawn lately (the API's, the command line's and the dashboard's older address),
# by what they show: matplotlib takes a few hundred milliseconds to draw one.
CHARTS_KEPT = 512
_charts: OrderedDict[tuple, bytes] = OrderedDict()
_charts_lock = threading.Lock()


def chart(engine: Engine, report: dict, t=None) -> bytes:
    """PNG of a ``reference_report``: the reference's distribution and the declared value,
    its words and numbers in the language of ``t`` (a page's ``Translator``; English
    without). The last ``CHARTS_KEPT`` drawn are kept, by store, reference (all its figures:
    a rebuilt one is another), declared value to three significant digits (the same line
    on a log axis) and language."""
    from tamis.valuation.chart import reference_chart  # matplotlib: only once a chart is asked

    r = report["reference"]
    declared = report.get("assessment", {}).get("declared_uv")
    if declared is not None:
        declared = float(f"{declared:.3g}")
    language = t.language if t is not None else None
    key = (str(engine.url), tuple(sorted(r.items())), declared, report["currency"], language)
    with _charts_lock:
        if key in _charts:
            _charts.move_to_end(key)
            return _charts[key]
    bins = distribution(engine, r) if r["source"] == "history" else None
    png = reference_chart(r, bins, declared, report["currency"], t)
    with _charts_lock:
        _charts[key] = png
        while len(_charts) > CHARTS_KEPT:
            _charts.popitem(last=False)
    return png
