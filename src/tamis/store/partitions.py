"""Years of data on PostgreSQL: declarations, their items and decisions in a partition per
month of lodgement.

Each of the three tables is partitioned by range of ``lodged_at``, a month a partition
(``declarations_2026_01``…), with a default partition that takes any row of a month not
created yet, so that nothing lodged is ever refused for its date. The migration creates the
months the store holds and the next few; ``tamis db partitions`` creates months ahead and
moves rows the default partition took into months of their own; ``tamis db archive``
writes a month to Parquet and then detaches and drops it.

A primary key of a partitioned table must hold the partition key, so PostgreSQL keeps a
declaration id unique within its lodgement time only: ingest and lodgement look an id up
before storing it, as they always did. Foreign keys to these tables are not kept (a
reference would have to carry ``lodged_at`` too); what writes them checks what it refers to.
SQLite stores are not partitioned.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine, text

from tamis.refusals import Refusal
from tamis.store.read import polars_schema
from tamis.store.tables import metadata

# table -> its primary key on PostgreSQL, the partition key last
PARTITIONED = {
    "declarations": ("declaration_id", "lodged_at"),
    "items": ("declaration_id", "item_number", "lodged_at"),
    "decisions": ("decision_id", "lodged_at"),
}
AHEAD = 3  # months created beyond the current one, by the migration and by default
ARCHIVE_BATCH = 50_000  # rows of a month read and written to Parquet at a time


def month_of(moment: date) -> date:
    return date(moment.year, moment.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_{month:%Y_%m}"


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    return bool(
        conn.execute(
            text(
                "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
                " WHERE c.relname = 'declarations' AND pg_table_is_visible(c.oid)"
            )
        ).first()
    )


def _partitioned_or_refuse(conn: Connection) -> None:
    if not is_partitioned(conn):
        raise Refusal(
            "this store is not partitioned: partitions by month are a PostgreSQL store's",
            "store.not_partitioned",
        )


def months(conn: Connection) -> dict[str, list[date]]:
    """The months each partitioned table has a partition of, in order."""
    found: dict[str, list[date]] = {t: [] for t in PARTITIONED}
    rows = conn.execute(
        text(
            "SELECT parent.relname, child.relname FROM pg_inherits i"
            " JOIN pg_class parent ON parent.oid = i.inhparent"
            " JOIN pg_class child ON child.oid = i.inhrelid"
            " WHERE parent.relname = ANY(:tables) AND pg_table_is_visible(parent.oid)"
        ),
        {"tables": list(PARTITIONED)},
    )
    for table, child in rows:
        suffix = child[len(table) + 1 :]
        if suffix != "default":
            found[table].append(datetime.strptime(suffix, "%Y_%m").date())
    return {t: sorted(m) for t, m in found.items()}


def _bounds(month: date) -> dict:
    return {
        "start": datetime.combine(month, time()),
        "end": datetime.combine(next_month(month), time()),
    }


def _range(month: date) -> str:
    bounds = _bounds(month)
    return f"FOR VALUES FROM ('{bounds['start']}') TO ('{bounds['end']}')"


def month_partition(parent: str, table: str, month: date) -> str:
    """The statement creating ``table``'s partition of ``month`` in the empty ``parent``."""
    return f"CREATE TABLE {partition_name(table, month)} PARTITION OF {parent} {_range(month)}"


def create_month(conn: Connection, table: str, month: date) -> int:
    """A partition of ``table`` for ``month``, holding the rows of that month the default
    partition had taken; the number of rows moved."""
    name, bounds = partition_name(table, month), _bounds(month)
    conn.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))
    # a CHECK matching the bounds spares ATTACH a scan of the new partition
    conn.execute(
        text(
            f"ALTER TABLE {name} ADD CONSTRAINT {name}_month"
            f" CHECK (lodged_at >= '{bounds['start']}' AND lodged_at < '{bounds['end']}')"
        )
    )
    moved = conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {table}_default"
            " WHERE lodged_at >= :start AND lodged_at < :end RETURNING *)"
            f" INSERT INTO {name} SELECT * FROM moved"
        ),
        bounds,
    ).rowcount
    conn.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} {_range(month)}"))
    conn.execute(text(f"ALTER TABLE {name} DROP CONSTRAINT {name}_month"))
    return moved


def months_held(conn: Connection, suffix: str = "") -> set[date]:
    """Months of the rows the partitioned tables hold (``suffix`` ``_default``: their
    default partitions)."""
    found: set[date] = set()
    for table in PARTITIONED:
        found.update(
            month_of(m)
            for (m,) in conn.execute(
                text(f"SELECT DISTINCT date_trunc('month', lodged_at) FROM {table}{suffix}")
            )
            if m is not None
        )
    return found


def ensure(conn: Connection, wanted: set[date]) -> dict[str, int]:
    """Partitions of every partitioned table for the ``wanted`` months (first days); the
    rows moved out of the default partitions, by table."""
    existing = months(conn)
    moved = {t: 0 for t in PARTITIONED}
    for table in PARTITIONED:
        for month in sorted(wanted - set(existing[table])):
            moved[table] += create_month(conn, table, month)
    return moved


def months_ahead(today: date, ahead: int) -> set[date]:
    month, wanted = month_of(today), set()
    for _ in range(ahead + 1):
        wanted.add(month)
        month = next_month(month)
    return wanted


@dataclass
class Maintained:
    created: list[date]
    moved: dict[str, int]
    months: list[date]


def maintain(engine: Engine, ahead: int = AHEAD, today: date | None = None) -> Maintained:
    """Months from this one to ``ahead`` months on, and a month of its own for every row the
    default partitions took, in one transaction."""
    if ahead < 0:
        raise Refusal(f"ahead: {ahead} is not a number of months (0 or more)", "store.ahead")
    with engine.begin() as conn:
        _partitioned_or_refuse(conn)
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('tamis.partitions'))"))
        before = set(months(conn)["declarations"])
        wanted = months_ahead(today or date.today(), ahead) | months_held(conn, "_default")
        moved = ensure(conn, wanted)
        after = months(conn)["declarations"]
    if any(moved.values()):
        _tidy(engine, [t for t, n in moved.items() if n])
    return Maintained(sorted(set(after) - before), moved, after)


def _tidy(engine: Engine, tables: list[str]) -> None:
    """After rows left the default partitions: their dead rows cleared (a lookup by id would
    otherwise wade through them), and statistics of the parent tables taken (autovacuum
    never analyses a partitioned table itself, and the planner needs them across months)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM {', '.join(f'{t}_default' for t in tables)}"))
        conn.execute(text(f"ANALYZE {', '.join(tables)}"))


def month_rows(conn: Connection) -> list[dict]:
    """Rows of each month in each partitioned table, default partitions included, and the
    months created with no rows yet."""
    _partitioned_or_refuse(conn)
    counts = {m: dict.fromkeys(PARTITIONED, 0) for m in months(conn)["declarations"]}
    for table in PARTITIONED:
        for moment, n in conn.execute(
            text(f"SELECT date_trunc('month', lodged_at) m, count(*) FROM {table} GROUP BY m")
        ):
            counts.setdefault(month_of(moment), dict.fromkeys(PARTITIONED, 0))[table] = n
    return [{"month": m} | counts[m] for m in sorted(counts)]


@dataclass
class Archived:
    month: date
    files: dict[str, Path]
    rows: dict[str, int]


def archive(engine: Engine, month: date, folder: Path) -> Archived:
    """Write ``month``'s partitions to ``folder/TABLE/YYYY-MM.parquet``, then detach and drop
    them in one transaction. A file is written whole before anything is dropped, and the
    partition is dropped only if the file holds as many rows as it."""
    month = month_of(month)
    files, rows = {}, {}
    with engine.begin() as conn:
        _partitioned_or_refuse(conn)
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('tamis.partitions'))"))
        missing = [t for t, m in months(conn).items() if month not in m]
        if missing:
            raise Refusal(
                f"month {month:%Y-%m}: no partition of {', '.join(missing)} to archive",
                "store.no_month",
            )
        for table in PARTITIONED:
            name = partition_name(table, month)
            conn.execute(text(f"LOCK TABLE {name} IN SHARE MODE"))  # no writer until dropped
            files[table] = folder / table / f"{month:%Y-%m}.parquet"
            rows[table] = _write_parquet(conn, name, files[table])
        for table in PARTITIONED:
            name = partition_name(table, month)
            conn.execute(text(f"ALTER TABLE {table} DETACH PARTITION {name}"))
            conn.execute(text(f"DROP TABLE {name}"))
    return Archived(month, files, rows)


def _write_parquet(conn: Connection, name: str, path: Path) -> int:
    """Every row of table ``name`` into a Parquet file at ``path`` (written beside it, then
    renamed into place); the number of rows, checked against the table's count."""
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    schema = polars_schema(metadata.tables[name.rsplit("_", 2)[0]].columns)
    result = conn.execute(
        text(f"SELECT {', '.join(schema)} FROM {name}"),
        execution_options={"stream_results": True, "max_row_buffer": ARCHIVE_BATCH},
    )
    written = 0
    with pq.ParquetWriter(partial, pl.DataFrame(schema=schema).to_arrow().schema) as writer:
        while chunk := result.fetchmany(ARCHIVE_BATCH):
            writer.write_table(pl.DataFrame(chunk, schema=schema, orient="row").to_arrow())
            written += len(chunk)
    counted = conn.execute(text(f"SELECT count(*) FROM {name}")).scalar()
    if counted != written:
        raise Refusal(f"{name}: {written} rows written of {counted}", "store.archive_count")
    os.replace(partial, path)
    return written
