"""What offences add up to: per office and month, the offences recorded (fraud notices),
the penalties proposed, what settlements and judgments made due and what was collected; and
the seizures in the layout of the WCO Customs Enforcement Network (CEN) seizure form.

Offences count in the month of their facts, payments in the month they were made. Money is
in minor units (integer hundredths) with its currency; the CEN export says amounts in major
units as decimal text.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
from sqlalchemy import Engine, select

from tamis.offences.read import Status, amount, stored_version
from tamis.offences.tables import offence_declarations, offence_parties, offences, payments
from tamis.settings import settings
from tamis.store.tables import declarations, items

col = pl.col
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
FIGURES = ("offences", "penalties_minor", "settled_minor", "judged_minor", "collected_minor")
# the offences whose due was settled: accepted, or paid without a judgment
SETTLED = (Status.SETTLED.value, Status.PAID.value)


def _month_bounds(first: str | None, last: str | None) -> tuple[date | None, date | None]:
    """The first day of ``first`` and the day after ``last`` (months as YYYY-MM)."""
    for field, month in (("first", first), ("last", last)):
        if month is not None and not MONTH.match(month):
            raise ValueError(f"{field}: {month!r} is not a month (YYYY-MM)")
    start = date.fromisoformat(f"{first}-01") if first else None
    end = None
    if last:
        year, month = map(int, last.split("-"))
        end = date(year + month // 12, month % 12 + 1, 1)
    return start, end


def _within(column, office: str | None, start: date | None, end: date | None) -> list:
    conditions = [offences.c.office == office] if office else []
    if start:
        conditions.append(column >= start)
    if end:
        conditions.append(column < end)
    return conditions


def figures(
    engine: Engine, office: str | None = None, first: str | None = None, last: str | None = None
) -> list[dict]:
    """Per office, month (YYYY-MM) and currency: offences (fraud notices), penalties
    proposed, due by settlement, due by judgment (those three of the month's offences) and
    collected (the month's payments), in minor units; months from ``first`` to ``last``."""
    start, end = _month_bounds(first, last)
    o = offences.c
    month = col("day").dt.strftime("%Y-%m").alias("month")
    with engine.connect() as conn:
        recorded = pl.DataFrame(
            conn.execute(
                select(o.office, o.offence_date, o.currency, o.penalty_minor, o.status,
                       o.due_minor, o.judged_on)
                .where(*_within(o.offence_date, office, start, end))
            ).all(),
            schema={"office": pl.String, "day": pl.Date, "currency": pl.String,
                    "penalty_minor": pl.Int64, "status": pl.String, "due_minor": pl.Int64,
                    "judged_on": pl.Date},
            orient="row",
        )  # fmt: skip
        paid = pl.DataFrame(
            conn.execute(
                select(o.office, payments.c.paid_on, o.currency, payments.c.amount_minor)
                .join_from(payments, offences, payments.c.offence_id == o.offence_id)
                .where(*_within(payments.c.paid_on, office, start, end))
            ).all(),
            schema={"office": pl.String, "day": pl.Date, "currency": pl.String,
                    "collected_minor": pl.Int64},
            orient="row",
        )  # fmt: skip
    due = col("due_minor").fill_null(0)
    judged = col("judged_on").is_not_null()
    per_offence = recorded.group_by("office", month, "currency").agg(
        pl.len().cast(pl.Int64).alias("offences"),
        col("penalty_minor").sum().alias("penalties_minor"),
        due.filter(~judged & col("status").is_in(SETTLED)).sum().alias("settled_minor"),
        due.filter(judged).sum().alias("judged_minor"),
    )
    per_payment = paid.group_by("office", month, "currency").agg(col("collected_minor").sum())
    return (
        per_offence.join(per_payment, on=["office", "month", "currency"], how="full", coalesce=True)
        .with_columns(col(f).fill_null(0).cast(pl.Int64) for f in FIGURES)
        .select("office", "month", "currency", *FIGURES)
        .sort("office", "month", "currency")
        .to_dicts()
    )


# --- the WCO CEN seizure form ------------------------------------------------------------

CEN_COLUMNS = (
    "case_number", "seizure_date", "reporting_country", "customs_office", "offence_type",
    "commodity", "hs_code", "quantity", "quantity_unit", "estimated_value", "currency",
    "duties_evaded", "detection_method", "concealment_method", "route", "country_of_origin",
    "country_of_departure", "destination_country", "offender_type", "offender_nationality",
    "transport_mode",
)  # fmt: skip


def cen_seizures(
    engine: Engine, since: date | None = None, until: date | None = None
) -> pl.DataFrame:
    """One row per offence with goods seized, dated from ``since`` to ``until`` (included),
    in the columns of the CEN seizure form (``CEN_COLUMNS``), all text."""
    o = offences.c
    query = select(o.offence_id, o.number, o.offence_date, o.office, o.schedule_version,
                   o.class_code, o.goods, o.hs_code, o.quantity, o.seized_quantity, o.unit,
                   o.goods_value_minor, o.currency, o.duties_evaded_minor,
                   o.detection_method, o.concealment, o.route).where(o.seized == 1)  # fmt: skip
    if since:
        query = query.where(o.offence_date >= since)
    if until:
        query = query.where(o.offence_date <= until)
    with engine.connect() as conn:
        seized = conn.execute(query.order_by(o.offence_date, o.offence_id)).all()
        ids = [s.offence_id for s in seized]
        offenders = _offenders(conn, ids)
        shipped = _shipments(conn, ids)
        versions = {v: stored_version(conn, v) for v in {s.schedule_version for s in seized}}
    country = settings().country
    rows = []
    for s in seized:
        label = versions[s.schedule_version].offence_class(s.class_code).name("en")
        shipment = shipped.get(s.offence_id, {})
        quantity = s.seized_quantity if s.seized_quantity is not None else s.quantity
        rows.append({
            "case_number": s.number, "seizure_date": s.offence_date.isoformat(),
            "reporting_country": country, "customs_office": s.office,
            "offence_type": f"{s.class_code} {label}", "commodity": s.goods,
            "hs_code": s.hs_code, "quantity": None if quantity is None else str(quantity),
            "quantity_unit": s.unit, "estimated_value": str(amount(s.goods_value_minor)),
            "currency": s.currency, "duties_evaded": str(amount(s.duties_evaded_minor)),
            "detection_method": s.detection_method, "concealment_method": s.concealment,
            "route": s.route, "country_of_origin": shipment.get("origin"),
            "country_of_departure": shipment.get("departure"), "destination_country": country,
            "offender_type": offenders.get(s.offence_id), "offender_nationality": None,
            "transport_mode": shipment.get("transport_mode"),
        })  # fmt: skip
    return pl.DataFrame(rows, schema=dict.fromkeys(CEN_COLUMNS, pl.String), orient="row")


def _offenders(conn, offence_ids: list[int]) -> dict[int, str]:
    """Per offence, its parties' roles (importer, person...), as 'importer; carrier'."""
    p = offence_parties.c
    roles: dict[int, list[str]] = {}
    for offence_id, role in conn.execute(
        select(p.offence_id, p.role).where(p.offence_id.in_(offence_ids)).order_by(p.party_id)
    ):
        if role not in roles.setdefault(offence_id, []):
            roles[offence_id].append(role)
    return {k: "; ".join(v) for k, v in roles.items()}


def _shipments(conn, offence_ids: list[int]) -> dict[int, dict]:
    """Per offence with declarations: the items' countries of origin, the declarations'
    country of departure and transport mode (each 'A; B' when they differ)."""
    od, d, i = offence_declarations.c, declarations.c, items.c
    heads = conn.execute(
        select(od.offence_id, d.export_country, d.transport_mode)
        .join_from(offence_declarations, declarations, d.declaration_id == od.declaration_id)
        .where(od.offence_id.in_(offence_ids))
        .order_by(od.offence_id, d.declaration_id)
    ).all()
    origins = conn.execute(
        select(od.offence_id, i.origin_country)
        .join_from(offence_declarations, items, i.declaration_id == od.declaration_id)
        .where(od.offence_id.in_(offence_ids))
        .order_by(od.offence_id, i.declaration_id, i.item_number)
    ).all()
    said: dict[int, dict[str, list]] = {}
    for offence_id, *values in heads:
        for key, value in zip(("departure", "transport_mode"), values, strict=True):
            said.setdefault(offence_id, {}).setdefault(key, []).append(value)
    for offence_id, origin in origins:
        said.setdefault(offence_id, {}).setdefault("origin", []).append(origin)
    return {
        offence_id: {k: "; ".join(dict.fromkeys(v for v in values if v)) or None
                     for k, values in found.items()}
        for offence_id, found in said.items()
    }  # fmt: skip


def cen_csv(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write ``cen_seizures``' frame as a UTF-8 CSV file with a header; its path."""
    path = Path(path)
    frame.select(list(CEN_COLUMNS)).write_csv(path)
    return path
