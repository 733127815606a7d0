"""Ingest one source file: read in batches, check, load what is valid, quarantine the rest.

Every batch is one transaction (its rows, its rejects and nothing else), so an interrupted
run leaves whole batches and a rerun of the same file completes it without duplicates.
received = accepted + rejected, always.
"""

from __future__ import annotations

import hashlib
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine

from tamis import audit
from tamis.declarations import FIELDS, Field
from tamis.ingest.checks import EXPECTED, REJECTED_SCHEMA, Checked, with_records
from tamis.ingest.checks.few import check
from tamis.ingest.profiles import DECLARATIONS, Profile, load_profile
from tamis.ingest.quarantine import keep
from tamis.ingest.readers import (
    ROW,
    RawBatch,
    SourceError,
    is_gzipped,
    read_batches,
    source_format,
)
from tamis.settings import settings
from tamis.store import changes
from tamis.store.load import Loaded, dialect_insert, load_batch, open_staging, to_storage
from tamis.store.tables import sources

Progress = Callable[[int, int | None], None]


@dataclass
class Summary:
    source: str
    profile: str
    source_id: str
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    inserted: int = 0
    already_stored: int = 0
    outcomes_inserted: int = 0
    rejected_by_reason: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self) | {"rejected_by_reason": dict(self.rejected_by_reason.most_common())}


def fingerprint(path: Path) -> tuple[str, int]:
    """sha256 of the file (its identity for idempotent reruns) and its line count."""
    digest, lines = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
            lines += chunk.count(b"\n")
    return digest.hexdigest(), lines


def _clash_rejects(loaded: Loaded, raw: pl.DataFrame, source_id: str) -> pl.DataFrame:
    clashes = loaded.clashes.unique("source_row").with_columns(
        pl.when(pl.col("stored_source_id") == source_id)
        .then(pl.lit("duplicate item number"))
        .otherwise(pl.lit("already stored from another source"))
        .alias("reason")
    )
    details = [
        f"row {row}, {d} item {n}: declaration_id {d!r}: {reason} "
        f"(stored from source {str(stored)[:12]}; {EXPECTED[reason]})"
        for row, d, n, stored, reason in clashes.iter_rows()
    ]
    return with_records(
        clashes.select(
            pl.col("source_row").cast(pl.Int64).alias(ROW),
            pl.format("{} item {}", "declaration_id", "item_number").alias("record_key"),
            pl.lit("declaration_id").alias("field"),
            pl.col("declaration_id").alias("value"),
            "reason",
            pl.Series("detail", details, dtype=pl.String),
        ),
        raw,
    )


def malformed_rejects(batch: RawBatch) -> pl.DataFrame:
    reason = "malformed line"
    return pl.DataFrame(
        {
            ROW: [m.row for m in batch.malformed],
            "record_key": [None] * len(batch.malformed),
            "field": [None] * len(batch.malformed),
            "value": [m.text for m in batch.malformed],
            "reason": [reason] * len(batch.malformed),
            "detail": [f"row {m.row}: {reason}: {m.reason}" for m in batch.malformed],
            "record": [None] * len(batch.malformed),
        },
        schema=REJECTED_SCHEMA,
    )


def _split_last_declaration(frame: pl.DataFrame, column: str | None):
    """Hold back the rows of the batch's last declaration: its items may continue next batch."""
    if column is None or frame.is_empty():
        return frame, None
    last = frame[column][-1]
    # a row without an id is no declaration's tail, and is kept (it is refused later)
    tail = (frame[column] == last).fill_null(False) if last is not None else frame[column].is_null()
    if tail.all():
        return frame, None
    return frame.filter(~tail), frame.filter(tail)


def declaration_batches(
    path: Path, profile: Profile, fmt: str, batch_rows: int | None = None
) -> Iterator[tuple[pl.DataFrame, RawBatch]]:
    """Raw batches in which no declaration is split: its items stay in one batch."""
    id_columns = profile.fields["declaration_id"].columns
    carry: pl.DataFrame | None = None
    batches = read_batches(
        path, fmt, profile.delimiter, profile.encoding, batch_rows or settings().batch_rows
    )
    held: tuple[pl.DataFrame, RawBatch] | None = None  # yielded once the next batch is read
    for batch in batches:
        frame = batch.frame
        if carry is not None:
            frame = pl.concat([carry, frame], how="diagonal_relaxed")
        if held is not None:
            yield held
        id_column = next((c for c in id_columns if c in frame.columns), None)
        frame, carry = _split_last_declaration(frame, id_column)
        held = frame, batch
    if held is not None and carry is not None:  # the file's last declaration ends the last
        held = pl.concat([held[0], carry], how="diagonal_relaxed"), held[1]  # batch, not alone
    if held is not None:
        yield held


class CheckedAhead:
    """Read and check the next batches in a worker thread while the caller stores the
    current one (Polars and Arrow release the interpreter lock while they work). The worker
    starts at once, so that it reads while the caller fingerprints the file; ``close`` it."""

    def __init__(
        self,
        batches: Iterator[tuple[pl.DataFrame, RawBatch]],
        profile: Profile,
        check: Callable[[pl.DataFrame, Profile], Checked] = check,
    ):
        self.ready: queue.Queue = queue.Queue(maxsize=2)
        self.stop = threading.Event()

        def produce() -> None:
            try:
                for frame, batch in batches:
                    if self.stop.is_set():
                        return
                    self.ready.put((frame, batch, check(frame, profile) if frame.height else None))
                self.ready.put(None)
            except BaseException as error:  # handed to the caller, raised there
                self.ready.put(error)

        self.worker = threading.Thread(target=produce, daemon=True)
        self.worker.start()

    def __iter__(self) -> Iterator[tuple[pl.DataFrame, RawBatch, Checked | None]]:
        while (item := self.ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self.stop.set()
        while self.worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                self.ready.get_nowait()
            except queue.Empty:
                self.worker.join(0.05)


@dataclass
class Stored:
    inserted: int
    already_stored: int
    rejected: pl.DataFrame  # rows refused by the store (key clashes), as ``Checked.rejected``
    outcomes_inserted: int = 0


Batches = Callable[[Path, Profile, str, int | None], Iterator[tuple[pl.DataFrame, RawBatch]]]
Store = Callable[[Connection, Checked, pl.DataFrame, str, datetime], Stored]


@dataclass(frozen=True)
class Target:
    """What a source file holds and how its rows are read, checked and stored."""

    record: str
    fields: Sequence[Field]
    batches: Batches
    check: Callable[[pl.DataFrame, Profile], Checked]
    open_staging: Callable[[Connection], None]
    store: Store


def record_batches(
    path: Path, profile: Profile, fmt: str, batch_rows: int | None = None
) -> Iterator[tuple[pl.DataFrame, RawBatch]]:
    """Raw batches of a source whose records stand alone (one row, one record)."""
    for batch in read_batches(
        path, fmt, profile.delimiter, profile.encoding, batch_rows or settings().batch_rows
    ):
        yield batch.frame, batch


def _store_declarations(
    conn: Connection, checked: Checked, frame: pl.DataFrame, source_id: str, at: datetime
) -> Stored:
    staged = to_storage(checked.accepted, source_id, ROW)
    loaded = load_batch(conn, staged, source_id, at)
    if loaded.outcomes_inserted:
        inspected = staged.filter(pl.col("outcome_result").is_not_null())
        changes.announce(conn, inspected["declaration_id"])
    return Stored(
        loaded.inserted,
        loaded.already_stored,
        _clash_rejects(loaded, frame, source_id),
        loaded.outcomes_inserted,
    )


DECLARATION_TARGET = Target(
    DECLARATIONS, FIELDS, declaration_batches, check, open_staging, _store_declarations
)


def ingest(
    path: Path | str,
    profile: Profile | str,
    engine: Engine,
    batch_rows: int | None = None,
    progress: Progress | None = None,
    target: Target = DECLARATION_TARGET,
) -> Summary:
    path = Path(path)
    if not isinstance(profile, Profile):
        profile = load_profile(profile, target.record, target.fields)
    elif profile.record != target.record:
        raise SourceError(f"profile {profile.name!r} maps {profile.record}, not {target.record}")
    fmt = source_format(path, profile.format)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    started = time.perf_counter()
    ahead = CheckedAhead(target.batches(path, profile, fmt, batch_rows), profile, target.check)
    with closing(ahead):
        summary = _ingest_checked(path, profile, fmt, engine, ahead, target, progress)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _ingest_checked(
    path: Path,
    profile: Profile,
    fmt: str,
    engine: Engine,
    ahead: CheckedAhead,
    target: Target,
    progress: Progress | None,
) -> Summary:
    source_id, lines = fingerprint(path)
    summary = Summary(str(path), profile.name, source_id)
    total = None if is_gzipped(path) else {"csv": max(lines - 1, 0), "jsonl": lines}.get(fmt)
    quarantined_at = audit.now()

    with engine.connect() as conn:
        with conn.begin():
            _register_source(conn, source_id, path, profile.name)
            target.open_staging(conn)

        def process(frame: pl.DataFrame, batch: RawBatch, checked: Checked | None) -> None:
            with conn.begin():
                if checked is None:  # no record read: malformed lines at most
                    loaded, refused = Stored(0, 0, pl.DataFrame(schema=REJECTED_SCHEMA)), []
                else:
                    loaded = target.store(conn, checked, frame, source_id, quarantined_at)
                    refused = [checked.rejected, loaded.rejected]
                rejected = pl.concat(
                    [*refused, malformed_rejects(batch)], how="vertical_relaxed"
                ).cast(REJECTED_SCHEMA)
                keep(conn, rejected.iter_rows(named=True), source_id, str(path), quarantined_at)
            summary.received += frame.height + len(batch.malformed)
            summary.rejected += rejected.height
            summary.accepted += loaded.inserted + loaded.already_stored
            summary.inserted += loaded.inserted
            summary.already_stored += loaded.already_stored
            summary.outcomes_inserted += loaded.outcomes_inserted
            summary.rejected_by_reason.update(rejected["reason"].to_list())
            if progress:
                progress(summary.received, total)

        for frame, batch, checked in ahead:
            process(frame, batch, checked)
        with conn.begin():
            conn.execute(
                sources.update()
                .where(sources.c.source_id == source_id)
                .values(
                    received=summary.received,
                    accepted=summary.accepted,
                    rejected=summary.rejected,
                    completed=1,
                    last_ingested_at=audit.now(),
                )
            )
    return summary


def _register_source(conn, source_id: str, path: Path, profile: str) -> None:
    """The source known to the store; two ingests of one file at once register it once."""
    now = audit.now()
    conn.execute(
        dialect_insert(conn, sources)
        .values(source_id=source_id, path=str(path), profile=profile, first_ingested_at=now,
                last_ingested_at=now, completed=0)
        .on_conflict_do_nothing()
    )  # fmt: skip
    conn.execute(
        sources.update().where(sources.c.source_id == source_id).values(last_ingested_at=now)
    )
