"""Keep the scoreboard's sums up to date, in the transaction that changes what they sum.

Each declaration that has a decision, an inspection result or an offence adds one row to
``scoreboard_declarations``: its current channel (latest decision, or an officer's change
of it), the detectors that flagged it, whether an inspection found it non-compliant, the
revenue recovered, the offences recorded for it (its fraud notices)... ``refresh``
recomputes those rows for some declarations from the store and adds the difference between
the new and the old rows to each sum table, so a scoreboard over a year of a million
declarations reads a few thousand rows.
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    case,
    delete,
    func,
    select,
    text,
    union,
)
from sqlalchemy.dialects import postgresql, sqlite

from tamis.learn.uplift import CONTROL, FLAGGED
from tamis.offences.tables import offence_declarations
from tamis.store.load import bulk_insert, dialect_insert
from tamis.store.tables import (
    channel_changes,
    decisions,
    declarations,
    inspection_outcomes,
    items,
    scoreboard_chapters,
    scoreboard_days,
    scoreboard_declarations,
    scoreboard_detectors,
    scoreboard_importers,
    scoreboard_pending,
)

NOT_ASSESSED = "none"
RISKY = ("orange", "red")
_ids = Table("scoreboard_ids", MetaData(), Column("declaration_id", String(64), primary_key=True))
# (sum table, its keys, the comma-separated column a declaration is counted once per value of)
SUMS = (
    (scoreboard_days, ("day", "office", "channel"), None),
    (scoreboard_detectors, ("day", "office", "detector"), "detector"),
    (scoreboard_importers, ("month", "office", "importer_id"), None),
    (scoreboard_chapters, ("month", "office", "chapter"), "chapter"),
)
# The rankings also keep their sums over every office under this office name, so that
# ranking a year of importers reads one row per importer and month, not one per office too.
ALL_OFFICES = "*"
RANKINGS = (scoreboard_importers, scoreboard_chapters)
TEXT, INT = pl.String, pl.Int64
STATE = (
    {c.name: TEXT for c in scoreboard_declarations.columns}
    | {c.name: INT for c in scoreboard_declarations.columns if isinstance(c.type, Integer)}
    | {"day": pl.Date}
)
COUNTED = {"declarations", "flagged"}  # one per declaration; other measures are its columns


def _stage(conn: Connection, declaration_ids: Iterable[str]) -> None:
    conn.execute(
        text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_ids.name} (declaration_id VARCHAR(64))")
    )
    conn.execute(text(f"DELETE FROM {_ids.name}"))
    ids = pl.Series("declaration_id", list(declaration_ids), pl.String).unique().drop_nulls()
    if ids.len():
        bulk_insert(conn, _ids.name, ids.to_frame())
    if conn.dialect.name == "postgresql":
        # Temporary tables get no statistics of their own: without them the planner guesses
        # thousands of rows and scans whole tables even to refresh one declaration.
        conn.execute(text(f"ANALYZE {_ids.name}"))


def _read(conn: Connection, query, schema: dict) -> pl.DataFrame:
    """Rows as a frame typed by ``schema`` (in the query's column order), even when no row
    came back. (Cheaper than pl.read_database for the one declaration of a lodgement.)"""
    return pl.DataFrame(conn.execute(query).all(), schema=schema, orient="row")


def _joined(table: Table):
    return _ids.join(table, _ids.c.declaration_id == table.c.declaration_id)


def _flagged(signals: pl.Series) -> pl.Series:
    """The detectors whose signal scored at least FLAGGED or forced a channel, as 'a,b'."""
    known = signals.drop_nulls()
    if known.is_empty():
        return pl.Series(signals.name, [""] * signals.len(), pl.String)
    decoded = signals.str.json_decode(infer_schema_length=None)
    frame = pl.DataFrame({"s": decoded})
    flags = [
        pl.when(_flags(pl.col("s").struct.field(f.name), f.dtype)).then(pl.lit(f.name))
        for f in decoded.dtype.fields
    ]
    return frame.select(pl.concat_str(flags, separator=",", ignore_nulls=True).fill_null(""))[
        :, 0
    ].alias(signals.name)


def _flags(signal: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Whether a detector's signal flags; signals stored before a field existed lack it."""
    fields = {f.name for f in dtype.fields} if isinstance(dtype, pl.Struct) else set()
    flags = pl.lit(False)
    if "score" in fields:
        flags = flags | (signal.struct.field("score").cast(pl.Float64) >= FLAGGED)
    if "forced_channel" in fields:
        flags = flags | signal.struct.field("forced_channel").is_not_null()
    return flags.fill_null(False)


def _current(conn: Connection) -> pl.DataFrame:
    """The staged declarations' rows as they should be now, from the store."""
    d, i, o, dc, cc = declarations, items, inspection_outcomes, decisions, channel_changes
    header = _read(
        conn,
        select(d.c.declaration_id, d.c.lodged_at, d.c.office, d.c.importer_id).select_from(
            _joined(d)
        ),
        {
            "declaration_id": TEXT,
            "lodged_at": pl.Datetime("us"),
            "office": TEXT,
            "importer_id": TEXT,
        },  # fmt: skip
    )
    chapters = _read(
        conn,
        select(i.c.declaration_id, func.substr(i.c.hs_code, 1, 2).label("chapter"))
        .select_from(_joined(i))
        .distinct(),
        {"declaration_id": TEXT, "chapter": TEXT},
    )
    later = decisions.alias("later")
    latest = select(func.max(later.c.decision_id)).where(
        later.c.declaration_id == dc.c.declaration_id
    )
    decided = _read(
        conn,
        select(dc.c.declaration_id, dc.c.decision_id, dc.c.channel, dc.c.random_selected,
               dc.c.revenue_at_stake_minor, dc.c.signals)
        .select_from(_joined(dc))
        .where(dc.c.decision_id == latest.scalar_subquery()),
        {"declaration_id": TEXT, "decision_id": INT, "channel": TEXT, "random_selected": INT,
         "revenue_at_stake_minor": INT, "signals": TEXT},
    )  # fmt: skip
    changed = _read(
        conn,
        select(cc.c.decision_id, cc.c.change_id, cc.c.to_channel).select_from(_joined(cc)),
        {"decision_id": INT, "change_id": INT, "to_channel": TEXT},
    )
    found = _read(
        conn,
        select(
            o.c.declaration_id,
            func.max(case((o.c.result == "non_compliant", 1), else_=0)).label("hits"),
            func.coalesce(func.sum(o.c.revenue_recovered_minor), 0).label("recovered"),
        )
        .select_from(_joined(o))
        .group_by(o.c.declaration_id),
        {"declaration_id": TEXT, "hits": INT, "recovered": INT},
    )
    noticed = _read(conn, _fraud_notices(), {"declaration_id": TEXT, "fraud_notices": INT})
    changed = changed.sort("change_id").group_by("decision_id").agg(pl.col("to_channel").last())
    decided = decided.with_columns(_flagged(decided["signals"]).alias("flagged")).join(
        changed, on="decision_id", how="left"
    )
    per_chapter = chapters.group_by("declaration_id").agg(
        pl.col("chapter").drop_nulls().unique().sort().str.join(",").alias("chapters")
    )
    state = (
        header.join(decided, on="declaration_id", how="left")
        .join(found.with_columns(pl.lit(1).alias("inspected")), on="declaration_id", how="left")
        .join(per_chapter, on="declaration_id", how="left")
        .join(noticed, on="declaration_id", how="left")
        .filter(
            pl.col("decision_id").is_not_null()
            | pl.col("inspected").is_not_null()
            | pl.col("fraud_notices").is_not_null()
        )
    )
    channel = pl.coalesce("to_channel", "channel", pl.lit(NOT_ASSESSED))
    return state.select(
        "declaration_id",
        pl.col("lodged_at").dt.date().alias("day"),
        pl.col("lodged_at").dt.strftime("%Y-%m").alias("month"),
        "office",
        "importer_id",
        pl.col("chapters").fill_null(""),
        channel.alias("channel"),
        channel.is_in(RISKY).cast(pl.Int64).alias("risky"),
        pl.col("revenue_at_stake_minor").fill_null(0).cast(pl.Int64),
        pl.col("random_selected").fill_null(0).cast(pl.Int64),
        pl.col("flagged").fill_null(""),
        pl.col("inspected").fill_null(0).cast(pl.Int64),
        pl.col("hits").fill_null(0).cast(pl.Int64),
        pl.col("recovered").fill_null(0).cast(pl.Int64).alias("revenue_recovered_minor"),
        pl.col("fraud_notices").fill_null(0).cast(pl.Int64),
    )


def _fraud_notices():
    """Per staged declaration, the offences recorded for it: an offence of several
    declarations is counted on the first of them only, so that sums count it once."""
    od, other = offence_declarations, offence_declarations.alias("other")
    first = select(func.min(other.c.declaration_id)).where(other.c.offence_id == od.c.offence_id)
    return (
        select(od.c.declaration_id, func.count().label("fraud_notices"))
        .select_from(_joined(od))
        .where(od.c.declaration_id == first.scalar_subquery())
        .group_by(od.c.declaration_id)
    )


def _measures(table: Table, keys: tuple[str, ...]) -> list[str]:
    return [c.name for c in table.columns if c.name not in keys]


def _contributions(state: pl.DataFrame, table: Table, keys: tuple[str, ...], each: str | None):
    """One row per declaration (per detector or chapter when ``each`` says so) and key."""
    if each == "detector":
        control = pl.when(pl.col("random_selected") == 1).then(pl.lit([CONTROL]))
        listed = pl.concat_list(pl.col("flagged").str.split(","), control.otherwise(pl.lit([])))
        state = state.with_columns(listed.alias("detector"))
    elif each == "chapter":
        state = state.with_columns(pl.col("chapters").str.split(",").alias("chapter"))
    if each:
        state = state.explode(each).filter(pl.col(each).is_not_null() & (pl.col(each) != ""))
    if table in RANKINGS:
        state = pl.concat([state, state.with_columns(pl.lit(ALL_OFFICES).alias("office"))])
    return state.select(
        *keys,
        *(
            (pl.lit(1) if m in COUNTED else pl.col(m)).cast(pl.Int64).alias(m)
            for m in _measures(table, keys)
        ),
    )


def _delta(old: pl.DataFrame, new: pl.DataFrame, table: Table, keys, each) -> pl.DataFrame:
    """What to add to each row of ``table`` when ``old`` rows become ``new`` ones."""
    measures = _measures(table, keys)
    signed = [
        _contributions(frame, table, keys, each).with_columns(pl.col(measures) * sign)
        for frame, sign in ((new, 1), (old, -1))
        if frame.height
    ]
    if not signed:
        return pl.DataFrame()
    summed = pl.concat(signed).group_by(keys).agg(pl.col(measures).sum())
    return summed.filter(pl.any_horizontal(pl.col(m) != 0 for m in measures))


def _add(conn: Connection, table: Table, delta: pl.DataFrame) -> None:
    if delta.is_empty():
        return
    insert = dialect_insert(conn, table)
    keys = [c.name for c in table.primary_key.columns]
    statement = insert.on_conflict_do_update(
        index_elements=keys,
        set_={c: table.c[c] + insert.excluded[c] for c in delta.columns if c not in keys},
    )
    conn.execute(statement, delta.to_dicts())


def refresh(conn: Connection, declaration_ids: Iterable[str]) -> None:
    """Bring the scoreboard up to date for these declarations, in ``conn``'s transaction."""
    _stage(conn, declaration_ids)
    s = scoreboard_declarations
    # Locking the old rows first makes a concurrent refresh of the same declarations wait.
    old = _read(conn, select(s).select_from(_joined(s)).with_for_update(of=s), STATE)
    new = _current(conn)
    conn.execute(delete(s).where(s.c.declaration_id.in_(select(_ids.c.declaration_id))))
    if new.height:
        bulk_insert(conn, s.name, new)
    for table, keys, each in SUMS:
        _add(conn, table, _delta(old, new, table, keys, each))


QUEUE_LIMIT = 64  # declarations; more are summed at once


def changed(conn: Connection, declaration_ids: Iterable[str]) -> None:
    """Declarations whose decisions or results changed, in ``conn``'s transaction. A few
    (a lodgement, a result) are queued, so that nobody waits on the sums; a batch is summed
    at once. Either way the change is durable with the transaction that made it."""
    ids = list(dict.fromkeys(i for i in declaration_ids if i is not None))
    if len(ids) > QUEUE_LIMIT:
        refresh(conn, pl.Series("declaration_id", ids, pl.String))
    elif ids:
        conn.execute(QUEUE[conn.dialect.name], [{"declaration_id": i} for i in ids])


QUEUE = {  # built once: a lodgement should not pay for building the statement
    "postgresql": postgresql.insert(scoreboard_pending).on_conflict_do_nothing(),
    "sqlite": sqlite.insert(scoreboard_pending).on_conflict_do_nothing(),
}


def catch_up(engine: Engine) -> int:
    """Sum the queued declarations (figures call it before they read); how many there were."""
    with engine.connect() as conn:
        if conn.execute(select(scoreboard_pending.c.declaration_id).limit(1)).first() is None:
            return 0
    with engine.begin() as conn:
        taken = delete(scoreboard_pending).returning(scoreboard_pending.c.declaration_id)
        ids = conn.execute(taken).scalars().all()  # a concurrent catch-up takes the others
        if ids:
            refresh(conn, ids)
    return len(ids)


def rebuild(engine: Engine, chunk: int = 50_000, progress=None) -> int:
    """Recompute every sum from the store (after an upgrade, or to check); declarations counted."""
    ids_query = union(
        select(decisions.c.declaration_id),
        select(inspection_outcomes.c.declaration_id),
        select(offence_declarations.c.declaration_id),
    )
    with engine.connect() as conn:
        ids = _read(conn, ids_query, {"declaration_id": TEXT})[:, 0]
    with engine.begin() as conn:
        for table in (scoreboard_pending, scoreboard_declarations, *(t for t, _, _ in SUMS)):
            conn.execute(delete(table))
    for start in range(0, ids.len(), chunk):
        with engine.begin() as conn:
            refresh(conn, ids[start : start + chunk])
        if progress:
            progress(min(start + chunk, ids.len()), ids.len())
    return ids.len()
