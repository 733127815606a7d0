"""Columnar reads of the store: the flat canonical frame that detectors and models take."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
from sqlalchemy import Engine, select

from tamis.declarations import HEADER_NAMES, ITEM_NAMES, MONEY_NAMES, storage_name
from tamis.store.tables import (
    declarations,
    inspection_outcomes,
    items,
    lodged_with,
    lodged_within,
)

_POLARS_TYPES = {str: pl.String, int: pl.Int64, float: pl.Float64, datetime: pl.Datetime("us"),
                 date: pl.Date}  # fmt: skip


def polars_schema(columns) -> dict:
    """Table columns' names and the Polars types their SQL types read as."""
    return {c.name: _POLARS_TYPES[c.type.python_type] for c in columns}


def typed(frame: pl.DataFrame, columns: list) -> pl.DataFrame:
    """A read's columns that no row typed (all null, or no row at all) as their SQL type."""
    return frame.cast(polars_schema(c for c in columns if frame.schema[c.name] == pl.Null))


def read_items(
    engine: Engine,
    since: datetime | None = None,
    until: datetime | None = None,
    declaration_id: str | None = None,
) -> pl.DataFrame:
    """Flat items (header repeated), lodged in [since, until) (or of one declaration);
    money as Decimal(18, 2)."""
    header = [declarations.c[storage_name(n)] for n in HEADER_NAMES]
    item = [items.c[storage_name(n)] for n in ITEM_NAMES]
    query = (
        select(*header, *item)
        .join_from(declarations, items, lodged_with(items, declarations))
        .where(*lodged_within(since, until, declarations.c.lodged_at, items.c.lodged_at))
    )
    if declaration_id is not None:
        query = query.where(declarations.c.declaration_id == declaration_id)
    query = query.order_by(declarations.c.lodged_at, items.c.declaration_id, items.c.item_number)
    with engine.connect() as conn:
        frame = typed(pl.read_database(query, conn, infer_schema_length=None), [*header, *item])
    return frame.with_columns(
        (pl.col(storage_name(n)).cast(pl.Decimal(20, 2)) / 100).cast(pl.Decimal(18, 2)).alias(n)
        for n in MONEY_NAMES
    ).select(*HEADER_NAMES, *ITEM_NAMES)


def read_outcomes(
    engine: Engine, since: datetime | None = None, until: datetime | None = None
) -> pl.DataFrame:
    """Inspection outcomes, one row per recorded result (of declarations lodged in
    [since, until) when given)."""
    query = select(inspection_outcomes).order_by(inspection_outcomes.c.inspected_at)
    if since or until:
        query = query.join(declarations, declarations.c.declaration_id
                           == inspection_outcomes.c.declaration_id)  # fmt: skip
    query = query.where(*lodged_within(since, until, declarations.c.lodged_at))
    with engine.connect() as conn:
        frame = typed(
            pl.read_database(query, conn, infer_schema_length=None),
            list(inspection_outcomes.columns),
        )
    return frame.with_columns(
        (pl.col("revenue_recovered_minor") / 100).alias("revenue_recovered")
    ).drop("revenue_recovered_minor")
