"""Ingest a manifest, payment, trademark-register or tax-return file: the declarations'
pipeline (batches, checks, quarantine, idempotent reruns) with each source's own schema."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine, select

from tamis.declarations import Kind, column_name
from tamis.ingest.checks import check_records
from tamis.ingest.pipeline import Progress, Stored, Summary, Target, ingest, record_batches
from tamis.ingest.profiles import Profile
from tamis.ingest.readers import ROW
from tamis.intel.sources import SOURCES, Source, source
from tamis.intel.tables import SOURCE_TABLES
from tamis.store.load import insert_new, open_table_staging, with_provenance


def target(src: Source) -> Target:
    table = SOURCE_TABLES[src.name]
    money = {f.name: column_name(f) for f in src.fields if f.kind is Kind.MONEY}
    columns = [c.name for c in table.columns]

    def check(raw: pl.DataFrame, profile: Profile):
        return check_records(raw, src.fields, profile, src.key)

    def store(
        conn: Connection, checked, frame: pl.DataFrame, source_id: str, _at: datetime
    ) -> Stored:
        rows = with_provenance(checked.accepted, money, source_id, ROW).select(columns)
        inserted = insert_new(conn, table, rows)
        return Stored(inserted, rows.height - inserted, checked.rejected.clear())

    return Target(
        src.name,
        src.fields,
        record_batches,
        check,
        lambda conn: open_table_staging(conn, [table]),
        store,
    )


def ingest_source(
    path: Path | str,
    source_name: str,
    engine: Engine,
    profile: Profile | str | None = None,
    batch_rows: int | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Load one source file; its shipped profile unless another is named."""
    src = source(source_name)
    return ingest(path, profile or src.profile, engine, batch_rows, progress, target(src))


def read_source(engine: Engine, source_name: str) -> pl.DataFrame:
    """A stored source, money back in national units (Decimal), provenance left out."""
    src = source(source_name)
    table = SOURCE_TABLES[src.name]
    with engine.connect() as conn:
        frame = pl.read_database(table.select(), conn, infer_schema_length=None)
    if frame.is_empty():
        return pl.DataFrame(schema=dict.fromkeys(src.field_names, pl.String))
    return frame.with_columns(
        (pl.col(column_name(f)).cast(pl.Decimal(20, 2)) / 100).cast(pl.Decimal(18, 2)).alias(f.name)
        for f in src.fields
        if f.kind is Kind.MONEY
    ).select(*src.field_names)


def stored_sources(engine: Engine) -> list[str]:
    """The sources of which the store holds at least one record."""
    with engine.connect() as conn:
        return [
            name
            for name, table in SOURCE_TABLES.items()
            if conn.execute(select(table.c[SOURCES[name].key[0]]).limit(1)).first()
        ]
