"""What the scoreboard shows for an office (or all) and a period of months, read from the
sums ``tamis.scoreboard.update`` keeps: a few thousand rows whatever the store's size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
from sqlalchemy import Engine, Table, func, select

from tamis.channels import CHANNELS, RANK
from tamis.route import load_routing
from tamis.route.capacity import INSPECTED, inspection_capacity
from tamis.scoreboard.update import ALL_OFFICES, RANKINGS, RISKY, catch_up
from tamis.store.tables import (
    declarations,
    scoreboard_chapters,
    scoreboard_days,
    scoreboard_declarations,
    scoreboard_detectors,
    scoreboard_importers,
)

WEEKLY_UP_TO_DAYS = 190  # longer periods are drawn month by month


@dataclass(frozen=True)
class Period:
    first: str  # YYYY-MM
    last: str  # YYYY-MM, included

    @property
    def start(self) -> date:
        return date.fromisoformat(f"{self.first}-01")

    @property
    def end(self) -> date:
        """The day after the period."""
        year, month = map(int, self.last.split("-"))
        return date(year + month // 12, month % 12 + 1, 1)


def _months(engine: Engine) -> list[str]:
    d = scoreboard_days
    with engine.connect() as conn:
        first, last = conn.execute(select(func.min(d.c.day), func.max(d.c.day))).one()
    if first is None:
        return []
    months, cursor = [], date(first.year, first.month, 1)
    while cursor <= last:
        months.append(f"{cursor:%Y-%m}")
        cursor = (cursor + timedelta(days=32)).replace(day=1)
    return months


DEFAULT_MONTHS = 12


def _latest_inspected_month(engine: Engine) -> str | None:
    """The latest month with an inspection result: the default period ends there, not at a
    month holding only today's few declarations, which nothing can be said about yet."""
    d = scoreboard_days
    with engine.connect() as conn:
        day = conn.execute(select(func.max(d.c.day)).where(d.c.inspected > 0)).scalar()
    return None if day is None else f"{day:%Y-%m}"


def choices(engine: Engine) -> dict:
    """Offices and months there is anything for: what the filters offer, and the period
    shown when none is asked for (the ``DEFAULT_MONTHS`` up to the latest inspected one)."""
    catch_up(engine)
    with engine.connect() as conn:
        offices = conn.execute(
            select(scoreboard_days.c.office).distinct().order_by(scoreboard_days.c.office)
        ).scalars()
        offices = list(offices)
    months = _months(engine)
    default = None
    if months:
        last = _latest_inspected_month(engine) or months[-1]
        first = months[max(months.index(last) - DEFAULT_MONTHS + 1, 0)]
        default = Period(first, last)
    return {"offices": offices, "months": months, "default": default}


def _sums(engine: Engine, table: Table, by: list[str], where, order=None, limit=None):
    measures = [c for c in table.columns if c.name not in {*by, "day", "month", "office"}]
    query = select(*(table.c[b] for b in by), *(func.sum(m).label(m.name) for m in measures))
    query = query.where(*where).group_by(*(table.c[b] for b in by))
    if order is not None:
        query = query.order_by(*order).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    schema = {b: pl.String for b in by} | {m.name: pl.Int64 for m in measures}
    if "day" in by:
        schema["day"] = pl.Date
    return pl.DataFrame(rows, schema=schema, orient="row")


def _hit_rate(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col("inspected") > 0)
        .then(pl.col("hits") / pl.col("inspected"))
        .alias("hit_rate")
    )


def capacity(offices: list[tuple[str, int]]) -> int | None:
    """Inspections the offices could do on the days they received declarations, from the
    routing configuration's ``capacity.inspections_per_day`` (None when not configured)."""
    per_day = load_routing().capacity.inspections_per_day
    if not per_day:
        return None
    return sum(per_day.get(office, per_day.get("*", 0)) * days for office, days in offices)


def _against_capacity(sums: pl.DataFrame, working_days: list[tuple[str, int]]) -> list[dict]:
    """Per office: declarations, those sent to inspection (orange and red), their share, and
    what the routing configuration's orange and red budgets hold over the same days."""
    config, days = load_routing().capacity, dict(working_days)
    rows = []
    per_office = (
        sums.filter(pl.col("channel").is_in(CHANNELS))
        .group_by("office")
        .agg(
            pl.col("declarations").sum(),
            pl.col("declarations").filter(pl.col("channel").is_in(INSPECTED)).sum().alias("sent"),
        )
    )
    for office, declared, sent in per_office.sort("office").iter_rows():
        held = inspection_capacity(config, office, declared, days.get(office, 0))
        share = None if held is None or not declared else held / declared
        rows.append({"office": office, "declarations": declared, "sent": sent,
                     "rate": sent / declared if declared else None,
                     "capacity": held, "capacity_rate": share})  # fmt: skip
    return rows


def _riskiest(table: Table, key: str) -> list:
    return [func.sum(table.c.risky).desc(), func.sum(table.c.hits).desc(), table.c[key]]


def scoreboard(engine: Engine, period: Period, office: str | None = None, top: int = 10) -> dict:
    """Every figure of the scoreboard, money in minor units."""
    catch_up(engine)

    def where(table: Table) -> list:
        if table in RANKINGS:
            return [table.c.month >= period.first, table.c.month <= period.last,
                    table.c.office == (office or ALL_OFFICES)]  # fmt: skip
        conditions = [table.c.day >= period.start, table.c.day < period.end]
        return conditions + ([table.c.office == office] if office else [])

    d = scoreboard_days
    days = _sums(engine, d, ["day", "channel"], where(d))  # summed over the offices
    channels = _hit_rate(
        days.group_by("channel")
        .agg(pl.exclude("day").sum())
        .sort(pl.col("channel").replace_strict(RANK, default=len(CHANNELS)))
    )
    assessed = days.filter(pl.col("channel").is_in(CHANNELS))
    totals = days.select(pl.exclude("day", "channel").sum()).row(0, named=True)
    totals["assessed"] = int(assessed["declarations"].sum())
    totals["asked"] = int(assessed.filter(pl.col("channel").is_in(RISKY))["declarations"].sum())
    with engine.connect() as conn:
        working_days = conn.execute(
            select(d.c.office, func.count(func.distinct(d.c.day)))
            .where(*where(d))
            .group_by(d.c.office)
        ).all()
    totals["capacity"] = capacity(working_days)
    offices = _against_capacity(_sums(engine, d, ["office", "channel"], where(d)), working_days)
    weekly = (period.end - period.start).days <= WEEKLY_UP_TO_DAYS
    bucket = pl.col("day").dt.truncate("1w" if weekly else "1mo")
    over_time = (
        assessed.group_by(bucket.alias("bucket"), "channel")
        .agg(pl.col("declarations").sum())
        .sort("bucket")
    )
    i, c, det = scoreboard_importers, scoreboard_chapters, scoreboard_detectors
    return {
        "period": period,
        "office": office,
        "totals": totals,
        "channels": channels.to_dicts(),
        "offices": offices,
        "over_time": over_time,
        "bucket": "week" if weekly else "month",
        "detectors": _hit_rate(_sums(engine, det, ["detector"], where(det)))
        .sort("flagged", descending=True)
        .to_dicts(),
        "importers": _hit_rate(
            _sums(engine, i, ["importer_id"], where(i), _riskiest(i, "importer_id"), top)
        ).to_dicts(),
        "chapters": _hit_rate(
            _sums(engine, c, ["chapter"], where(c), _riskiest(c, "chapter"), top)
        ).to_dicts(),
    }


def latest_declarations(engine: Engine, importer_id: str, limit: int = 20) -> list[dict]:
    """An importer's latest assessed or inspected declarations, with channel and findings."""
    catch_up(engine)
    s, d = scoreboard_declarations, declarations
    latest = (
        select(s.c.declaration_id, d.c.lodged_at, s.c.office, s.c.channel, s.c.inspected,
               s.c.hits, s.c.revenue_recovered_minor)
        .join_from(d, s, s.c.declaration_id == d.c.declaration_id)
        .where(d.c.importer_id == importer_id)
        .order_by(d.c.lodged_at.desc())
        .limit(limit)
    )  # fmt: skip
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(latest)]
