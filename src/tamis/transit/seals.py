"""Electronic seals (GPS padlocks) as a source: positions and seal events read like any
other file (mapping profile, checks, quarantine, idempotent reruns), checked against their
movement and its corridor (``tamis.transit.corridor``); the alerts they raise are kept with
the movement's. Received = accepted + rejected, always.

A file is checked on its own: a stop or an excursion that spans two files is judged on each
part.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine, select

from tamis import audit
from tamis.declarations import Field, Kind
from tamis.ingest.checks import REJECTED_SCHEMA, check_records
from tamis.ingest.pipeline import Progress, Stored, Summary, Target, ingest, record_batches
from tamis.ingest.profiles import Profile
from tamis.ingest.readers import ROW
from tamis.store.load import insert_new, open_table_staging
from tamis.transit import corridor
from tamis.transit.corridors import network
from tamis.transit.tables import transit_alerts, transit_movements, transit_positions

RECORD = "seal_positions"
FIELDS = (
    Field("mrn", Kind.CODE, "the movement the seal is on", True, "record"),
    Field("seal_id", Kind.CODE, "the seal's identifier", True, "record"),
    Field("at", Kind.DATETIME, "when the seal reported (UTC)", True, "record"),
    Field("lon", Kind.SIGNED, "longitude, WGS 84 degrees", True, "record"),
    Field("lat", Kind.SIGNED, "latitude, WGS 84 degrees", True, "record"),
    Field(
        "event", Kind.TEXT, "empty or position for a fix; opened, closed, tampered", False, "record"
    ),
)


def ingest_positions(
    path: Path | str,
    engine: Engine,
    profile: Profile | str | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Load a file of seal positions (the shipped profile unless another is named)."""
    return ingest(path, profile or RECORD, engine, None, progress, _target(now))


def _target(now: datetime | None) -> Target:
    def check(raw: pl.DataFrame, profile: Profile):
        return check_records(raw, FIELDS, profile, ("seal_id", "at", "event"))

    def store(conn: Connection, checked, frame: pl.DataFrame, source_id: str, _at) -> Stored:
        return _store(conn, checked.accepted, source_id, now or audit.now())

    staging = lambda conn: open_table_staging(conn, [transit_positions])  # noqa: E731
    return Target(RECORD, FIELDS, record_batches, check, staging, store)


def _store(conn: Connection, accepted: pl.DataFrame, source_id: str, now: datetime) -> Stored:
    positions = accepted.select(
        "mrn",
        "seal_id",
        pl.col("at").dt.replace_time_zone("UTC"),
        pl.col("lon").cast(pl.Float64),
        pl.col("lat").cast(pl.Float64),
        pl.col("event").str.strip_chars().str.to_lowercase().replace("", None),
    )
    movements, corridors = _movements(conn, positions["mrn"].unique().to_list())
    checked = corridor.check_positions(positions, movements, corridors, now=now.replace(tzinfo=UTC))
    rows = accepted[ROW]
    kept = checked.accepted.with_columns(
        pl.col("at").dt.replace_time_zone(None),
        pl.col("event").fill_null("position"),
        pl.lit(source_id).alias("source_id"),
    )
    refused = pl.int_range(rows.len(), eager=True).is_in(checked.rejected["row"].implode())
    kept = kept.with_columns(rows.filter(~refused).alias("source_row"))  # accepted keep order
    inserted = insert_new(conn, transit_positions, kept)
    _keep_alerts(conn, checked.alerts, now)
    return Stored(inserted, kept.height - inserted, _quarantined(checked.rejected, rows))


def _quarantined(rejected: pl.DataFrame, rows: pl.Series) -> pl.DataFrame:
    """``corridor`` refusals as the quarantine keeps them: the file row, the seal, the field."""
    record = pl.struct("mrn", "seal_id", "at", "lon", "lat", "event").struct.json_encode()
    key = pl.lit("seal_id ") + pl.col("seal_id").fill_null("?")
    detail = pl.format(
        "row {}, {}: {} '{}': {}",
        pl.col(ROW),
        key,
        "field",
        pl.col("value").fill_null(""),
        "reason",
    )
    return (
        rejected.with_columns(rows.gather(rejected["row"]).alias(ROW))
        .select(
            ROW,
            key.alias("record_key"),
            "field",
            "value",
            pl.col("reason").str.split(":").list.first().str.slice(0, 64),  # its gist
            detail.alias("detail"),
            record.alias("record"),
        )
        .cast(REJECTED_SCHEMA)
    )


def _movements(conn: Connection, mrns: list[str]) -> tuple[pl.DataFrame, dict]:
    """The movements of these MRNs as ``corridor`` takes them, and their corridors."""
    found = conn.execute(
        select(
            transit_movements.c.mrn,
            transit_movements.c.seals,
            transit_movements.c.arrived_at,
            transit_movements.c.written_off_at,
            transit_movements.c.departure_office,
            transit_movements.c.destination_office,
        ).where(transit_movements.c.mrn.in_(mrns))
    ).all()
    roads = network()
    corridors = {}
    for m in found:
        road = roads.between(m.departure_office, m.destination_office)
        if road is not None:
            corridors[m.mrn] = road
    movements = pl.DataFrame(
        {
            "mrn": [m.mrn for m in found],
            "seal_ids": [[s.upper() for s in json.loads(m.seals)] for m in found],
            "arrived_at": [m.arrived_at for m in found],
            "written_off_at": [m.written_off_at for m in found],
        },
        schema={
            **corridor.MOVEMENTS_SCHEMA,
            "arrived_at": pl.Datetime("us"),
            "written_off_at": pl.Datetime("us"),
        },
    ).with_columns(pl.col("arrived_at", "written_off_at").dt.replace_time_zone("UTC"))
    return movements, corridors


def _keep_alerts(conn: Connection, alerts: pl.DataFrame, now: datetime) -> None:
    """Each alert once (a rerun of the file raises nothing new)."""
    where = pl.format('"lon": {}, "lat": {}, ', pl.col("lon").round(5), pl.col("lat").round(5))
    rows = alerts.select(
        "mrn",
        "kind",
        pl.col("at").dt.replace_time_zone(None),
        pl.lit(now).alias("raised_at"),
        pl.concat_str(pl.lit("{"), where, pl.col("detail").str.strip_prefix("{")).alias("detail"),
    )
    if rows.is_empty():
        return
    stored = set(
        conn.execute(
            select(transit_alerts.c.mrn, transit_alerts.c.kind, transit_alerts.c.at).where(
                transit_alerts.c.mrn.in_(rows["mrn"].unique().to_list())
            )
        ).all()
    )
    fresh = [r for r in rows.iter_rows(named=True) if (r["mrn"], r["kind"], r["at"]) not in stored]
    if fresh:
        conn.execute(transit_alerts.insert(), fresh)
