"""Bulk loads: checked rows into declarations, items and outcomes, idempotently, per batch.

Each batch goes to a temporary staging table by the engine's fast path (COPY on
PostgreSQL, executemany on SQLite); from there the same SQL on both engines finds rows
that clash with what is stored and moves the rest into place. A row already stored from
the same source row is counted as accepted, not inserted twice.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import polars as pl
from sqlalchemy import Column, Connection, MetaData, Table, text
from sqlalchemy.dialects import postgresql, sqlite

from tamis.declarations import HEADER_NAMES, ITEM_NAMES, MONEY_NAMES, storage_name
from tamis.store.tables import declarations, inspection_outcomes, items

KEYS = "staging_keys"
OUTCOME_COLUMNS = (
    "inspected_at",
    "inspector",
    "result",
    "fraud_type",
    "revenue_recovered_minor",
    "fraud_notice",
)
HEADER = [storage_name(n) for n in HEADER_NAMES]
ITEM = [storage_name(n) for n in ITEM_NAMES]
PROVENANCE = ["source_id", "source_row"]
OUTCOME = [f"outcome_{c}" for c in OUTCOME_COLUMNS]
STAGED = HEADER + ITEM + OUTCOME + PROVENANCE


def open_table_staging(conn: Connection, tables) -> None:
    """On PostgreSQL, a temporary staging table of this connection per target table (the
    way ``insert_new`` skips stored keys there)."""
    for target in tables:
        conn.execute(text(f"DROP TABLE IF EXISTS staging_{target.name}"))
        if conn.dialect.name == "postgresql":
            conn.execute(
                text(
                    f"CREATE TEMP TABLE staging_{target.name}"
                    f" (LIKE {target.name} INCLUDING DEFAULTS)"
                )
            )


def open_staging(conn: Connection) -> None:
    """Temporary tables of this connection: the batch's keys, and one per target table."""
    conn.execute(text(f"DROP TABLE IF EXISTS {KEYS}"))
    open_table_staging(conn, TARGETS)
    keys = Table(
        KEYS,
        MetaData(),
        Column("declaration_id", items.c.declaration_id.type),
        Column("item_number", items.c.item_number.type),
        Column("source_row", items.c.source_row.type),
        prefixes=["TEMPORARY"],
    )
    keys.create(conn)


def with_provenance(
    frame: pl.DataFrame, money: dict[str, str], source_id: str, row_column: str
) -> pl.DataFrame:
    """Money columns (name -> stored name) in integer hundredths, provenance added."""
    return frame.with_columns(
        (pl.col(n).cast(pl.Decimal(20, 2)) * 100).cast(pl.Int64).alias(stored)
        for n, stored in money.items()
        if n in frame.columns
    ).with_columns(pl.lit(source_id).alias("source_id"), pl.col(row_column).alias("source_row"))


MONEY = {n: storage_name(n) for n in MONEY_NAMES} | {
    "outcome_revenue_recovered": "outcome_revenue_recovered_minor"
}


def to_storage(frame: pl.DataFrame, source_id: str, row_column: str) -> pl.DataFrame:
    """Checked frame → staging columns: money in integer hundredths, provenance added."""
    frame = with_provenance(frame, MONEY, source_id, row_column)
    return frame.select(pl.col(c) if c in frame.columns else pl.lit(None).alias(c) for c in STAGED)


def rows_to_storage(rows: list[dict], source_id: str, row_column: str) -> list[dict]:
    """``to_storage`` for a few checked rows as Python values (a lodgement)."""
    staged = []
    for row in rows:
        values = {MONEY.get(name, name): value for name, value in row.items()}
        for stored in MONEY.values():
            if values.get(stored) is not None:
                values[stored] = int(values[stored] * 100)
        values |= {"source_id": source_id, "source_row": row[row_column]}
        staged.append({c: values.get(c) for c in STAGED})
    return staged


COPIED = 5_000  # rows a COPY is sent at a time


def bulk_insert(
    conn: Connection, table: str, frame: pl.DataFrame, ignore_conflicts: bool = False
) -> None:
    """The engine's fast path for many rows: COPY on PostgreSQL, executemany on SQLite.

    ``ignore_conflicts`` (SQLite only; PostgreSQL goes through ``insert_new``) skips rows
    whose key is already stored.
    """
    if frame.is_empty():  # nothing to write (SQLite refuses an executemany of no rows)
        return
    columns = ", ".join(frame.columns)
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv, NULL '\\N')") as copy:
            for part in frame.iter_slices(COPIED):  # the server stores one while the next is
                buffer = io.BytesIO()  # written: Polars releases the interpreter lock
                part.write_csv(buffer, include_header=False, null_value=r"\N")
                copy.write(buffer.getvalue())
        return
    frame = frame.with_columns(
        pl.col(pl.Datetime).dt.strftime("%Y-%m-%d %H:%M:%S.%6f"),
        pl.col(pl.Date).dt.strftime("%Y-%m-%d"),
    )
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * frame.width)})"
        f"{' ON CONFLICT DO NOTHING' if ignore_conflicts else ''}",
        rows_of(frame),
    )


def rows_of(frame: pl.DataFrame) -> list[tuple]:
    """The frame's rows as tuples: column by column, twice as fast as ``DataFrame.rows``."""
    return list(zip(*(column.to_list() for column in frame.iter_columns()), strict=True))


def dialect_insert(conn: Connection, table: Table):
    """``INSERT`` of ``table`` in the store's dialect, for its ``ON CONFLICT`` clauses."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def replace_all(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    """Replace every row of a derived table (sellers, links...): two runs at once end with
    one run's rows, the later, never a mix nor a clash of keys."""
    if conn.dialect.name == "postgresql":  # SQLite writers already wait for each other
        conn.execute(text(f"LOCK TABLE {table.name} IN EXCLUSIVE MODE"))
    conn.execute(table.delete())
    if not frame.is_empty():
        bulk_insert(conn, table.name, frame)


def insert_new(conn: Connection, table: Table, frame: pl.DataFrame, fresh: bool = False) -> int:
    """Insert the rows whose key is not stored yet; the number inserted. ``fresh``: the
    caller knows no key is stored, so the rows go straight in."""
    if frame.is_empty():
        return 0
    if fresh:
        bulk_insert(conn, table.name, frame)
        return frame.height
    if conn.dialect.name != "postgresql":
        before = conn.connection.driver_connection.total_changes
        bulk_insert(conn, table.name, frame, ignore_conflicts=True)
        return conn.connection.driver_connection.total_changes - before
    staging = f"staging_{table.name}"
    conn.execute(text(f"DELETE FROM {staging}"))
    bulk_insert(conn, staging, frame)
    columns = ", ".join(frame.columns)
    return conn.execute(
        text(
            f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM {staging}"
            " ON CONFLICT DO NOTHING"
        )
    ).rowcount


@dataclass
class Loaded:
    inserted: int
    already_stored: int
    outcomes_inserted: int
    clashes: pl.DataFrame  # source_row, declaration_id, item_number, stored_source_id


CLASH_SCHEMA = {
    "source_row": pl.Int64,
    "declaration_id": pl.String,
    "item_number": pl.Int64,
    "stored_source_id": pl.String,
}
_CLASHES = f"""
SELECT k.source_row, k.declaration_id, k.item_number, d.source_id AS stored_source_id
FROM {KEYS} k JOIN declarations d ON d.declaration_id = k.declaration_id
WHERE COALESCE(d.source_id, '') <> :source_id
UNION
SELECT k.source_row, k.declaration_id, k.item_number, i.source_id
FROM {KEYS} k JOIN items i
  ON i.declaration_id = k.declaration_id AND i.item_number = k.item_number
WHERE COALESCE(i.source_id, '') = :source_id AND i.source_row <> k.source_row
"""


def any_stored(conn: Connection, declaration_ids: pl.Series) -> bool:
    """Whether any of these declarations is stored already (a fresh batch needs no clash
    checks: nothing stored can clash with it). The ids go as one JSON list: a statement with
    a parameter per id costs more to build than to run, and an array is quoted in Python."""
    ids = json.dumps(declaration_ids.unique().to_list(), ensure_ascii=False)
    listed = _LISTED[conn.dialect.name]
    return conn.execute(text(_ANY_STORED.format(listed=listed)), {"ids": ids}).first() is not None


_ANY_STORED = "SELECT 1 FROM declarations WHERE declaration_id IN ({listed}) LIMIT 1"
_LISTED = {  # the values of a JSON list of text, per store
    "sqlite": "SELECT value FROM json_each(:ids)",
    "postgresql": "SELECT json_array_elements_text(CAST(:ids AS json))",
}


def clashing(conn: Connection, frame: pl.DataFrame, source_id: str) -> pl.DataFrame:
    """Rows of the batch that clash with stored rows (``CLASH_SCHEMA``)."""
    conn.execute(text(f"DELETE FROM {KEYS}"))
    bulk_insert(conn, KEYS, frame.select("declaration_id", "item_number", "source_row"))
    return pl.DataFrame(
        conn.execute(text(_CLASHES), {"source_id": source_id}).fetchall(),
        schema=CLASH_SCHEMA,
        orient="row",
    )


LOAD_LOCK = 0x7A315  # the advisory lock batches of declarations are loaded under


def one_at_a_time(conn: Connection, source_id: str) -> None:
    """Two loads at once take turns, each batch's transaction whole, so that the second sees
    what the first stored: PostgreSQL by an advisory lock, SQLite by writing first (its
    write lock is then held from the start of the transaction)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOAD_LOCK})
    else:
        conn.execute(
            text("UPDATE sources SET completed = completed WHERE source_id = :id"),
            {"id": source_id},
        )


def hold_declaration(conn: Connection, declaration_id: str) -> None:
    """Lodgements of one declaration id take turns until the transaction ends, so that the
    second finds the first stored: on PostgreSQL a declaration's primary key holds its month
    of lodgement, and the same id sent with two dates would not clash. They also wait for a
    batch of declarations being loaded (which holds ``LOAD_LOCK`` alone), and it for them:
    an id in both is stored once. SQLite writers take turns already."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "SELECT pg_advisory_xact_lock_shared(:load), pg_advisory_xact_lock(hashtext(:id))"
            ),
            {"load": LOAD_LOCK, "id": declaration_id},
        )


def load_batch(conn: Connection, frame: pl.DataFrame, source_id: str, recorded_at) -> Loaded:
    """Insert a batch (staging columns), setting aside rows that clash with stored ones."""
    if frame.is_empty():
        return Loaded(0, 0, 0, pl.DataFrame(schema=CLASH_SCHEMA))
    one_at_a_time(conn, source_id)
    fresh = not any_stored(conn, frame["declaration_id"])
    clashes = pl.DataFrame(schema=CLASH_SCHEMA) if fresh else clashing(conn, frame, source_id)
    frame = frame.filter(~pl.col("source_row").is_in(clashes["source_row"].implode()))
    header = frame.unique("declaration_id", keep="first", maintain_order=True)
    insert_new(conn, declarations, header.select(HEADER + PROVENANCE), fresh)
    inserted = insert_new(
        conn, items, frame.select(["declaration_id", *ITEM, "lodged_at", *PROVENANCE]), fresh
    )
    outcomes = frame.filter(pl.col("outcome_result").is_not_null()).select(
        "declaration_id",
        "item_number",
        *(pl.col(f"outcome_{c}").alias(c) for c in OUTCOME_COLUMNS),
        pl.lit(recorded_at).alias("recorded_at"),
        *PROVENANCE,
    )
    return Loaded(
        inserted,
        frame.height - inserted,
        insert_new(conn, inspection_outcomes, outcomes, fresh),
        clashes,
    )


TARGETS = (declarations, items, inspection_outcomes)


def insert_rows(conn: Connection, table: Table, rows: list[dict]) -> None:
    """A few rows through SQLAlchemy (lodgement of one declaration): only the table's columns."""
    names = [c.name for c in table.columns if c.name in rows[0]]
    conn.execute(table.insert(), [{n: row[n] for n in names} for row in rows])
