"""The quarantine: every record refused, from a file or an API payload, kept with its
source, row, field, value, reason and the record as it came."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, Engine, text

from tamis.ingest.readers import ROW
from tamis.store.tables import quarantine

_KEEP = text(
    "INSERT INTO quarantine (source_id, source_path, source_row, record_key, field, value, reason,"
    " detail, record, quarantined_at) VALUES (:source_id, :source_path, :source_row, :record_key,"
    " :field, :value, :reason, :detail, :record, :quarantined_at)"
    " ON CONFLICT (source_id, source_row) DO NOTHING"
)


def _storable(value):
    """A refused value as every store can keep it: a NUL (which PostgreSQL refuses) shown."""
    return value.replace("\x00", "\\x00") if isinstance(value, str) else value


def keep(
    conn: Connection, rejected: Iterable[dict], source_id: str, source_path: str, at: datetime
) -> None:
    """Quarantine refused records (``REJECTED_SCHEMA`` rows); a rerun of a source keeps each
    of its rows once."""
    rows = [
        {k: _storable(v) for k, v in r.items()}
        | dict(source_id=source_id, source_path=source_path, source_row=r[ROW], quarantined_at=at)
        for r in rejected
    ]
    if rows:
        conn.execute(_KEEP, rows)


def quarantined(engine: Engine, source_id: str | None = None) -> pl.DataFrame:
    query = quarantine.select().order_by(quarantine.c.source_id, quarantine.c.source_row)
    if source_id:
        query = query.where(quarantine.c.source_id.startswith(source_id))
    with engine.connect() as conn:
        return pl.read_database(query, conn, infer_schema_length=None)
