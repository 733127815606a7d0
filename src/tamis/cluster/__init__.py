"""Batch work on a Dask cluster (``--workers N`` for one on this machine, or ``--cluster
ADDRESS``): the very ``Assessor`` on each file of a dataset, where it lies (``tamis assess``),
and each file of a folder ingested by a worker of its own (``tamis ingest``); training a
month a partition is ``tamis.cluster.train``.

A dataset is one file or a folder of them (Parquet, CSV, JSON Lines, in sub-folders too, as
hive partitions are); each file is one partition, assessed whole by one worker. An office's
budget period split over two files gets a budget in each, as two batches of one file would:
a dataset cut by lodgement month keeps every period whole (a week is cut at the month's end),
one cut by day every day. The assessor is built once from the store and sent to every
worker.

A worker that dies mid-run has its partitions redone by another; nothing is written twice:
- a partition's decisions are written to a file of the attempt, then renamed to
  ``OUT/part-NNNNN.parquet``: the output holds one attempt's decisions per partition;
- with a store, an attempt records its decisions in one transaction that first marks the
  partition done (``assessed_parts``), naming the attempt. An attempt that finds the mark
  records nothing and publishes the file of the attempt that recorded: the output then
  holds the decisions the store holds, random draws included.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from uuid import uuid4

import polars as pl
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from tamis import audit
from tamis.assess import Assessor, BatchSummary, Draws, assessed_batches, record
from tamis.draws import KeyedDraws
from tamis.ingest import SourceError, ingest
from tamis.ingest.profiles import Profile
from tamis.ingest.readers import source_format
from tamis.store import open_store
from tamis.store.tables import assessed_parts


def dataset_files(path: Path) -> list[Path]:
    """The files of a dataset, in a fixed order: ``path`` itself, or the data files under it
    (hidden files and folders, such as ``_SUCCESS`` or ``.part`` files, left out)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ValueError(f"{path}: no such file or folder")
    found = sorted(
        p
        for p in path.rglob("*")
        if p.is_file()
        and _readable(p)
        and not any(part.startswith((".", "_")) for part in p.relative_to(path).parts)
    )
    if not found:
        raise ValueError(f"{path}: no CSV, Parquet or JSON Lines file in this folder")
    return found


def _readable(path: Path) -> bool:
    try:
        source_format(path)
    except SourceError:
        return False
    return True


def part_file(out: Path, part: int, attempt: str | None = None) -> Path:
    """A partition's decisions in ``out``; with an attempt, that attempt's unpublished file."""
    return out / (f"part-{part:05d}.parquet" if attempt is None else f".part-{part:05d}.{attempt}")


def assess_part(
    part: int,
    path: str,
    profile: Profile | str,
    assessor: Assessor,
    out: str,
    run_id: str,
    store_url: str | None = None,
    draws: Draws | None = None,
) -> dict:
    """Assess one partition (a worker's task); its summary, as a dict."""
    folder, attempt = Path(out), uuid4().hex
    engine = open_store(store_url) if store_url else None
    try:
        if engine is not None and (done := _marked(engine, run_id, part)) is not None:
            return _published(folder, part, done)
        summary = BatchSummary()
        assessed = list(assessed_batches(Path(path), profile, assessor, summary, draws=draws))
        decided = pl.concat([d for _, d in assessed]) if assessed else pl.DataFrame()
        summary.count_channels(decided)
        written = part_file(folder, part, attempt)
        if decided.height:  # a partition of rejected rows only has no decision to write
            decided.drop("signals").write_parquet(written)
        if engine is not None:
            try:
                with engine.begin() as conn:
                    conn.execute(insert(assessed_parts).values(
                        run_id=run_id, part=part, attempt=attempt,
                        summary=json.dumps(asdict(summary)), recorded_at=audit.now(),
                    ))  # fmt: skip
                    for accepted, batch_decided in assessed:
                        record(conn, batch_decided, "batch", assessor, accepted)
            except IntegrityError:
                if (done := _marked(engine, run_id, part)) is None:
                    raise
                written.unlink(missing_ok=True)  # an attempt taken for dead recorded it
                return _published(folder, part, done)
        _publish(folder, part, attempt)
        return asdict(summary)
    finally:
        if engine is not None:
            engine.dispose()


def _marked(engine: Engine, run_id: str, part: int) -> dict | None:
    query = select(assessed_parts.c.attempt, assessed_parts.c.summary).where(
        assessed_parts.c.run_id == run_id, assessed_parts.c.part == part
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else dict(row._mapping)


def _publish(folder: Path, part: int, attempt: str) -> None:
    """An attempt's decisions as the partition's, if it wrote any and they are not yet."""
    written = part_file(folder, part, attempt)
    if written.exists():
        os.replace(written, part_file(folder, part))


def _published(folder: Path, part: int, done: dict) -> dict:
    """Publish the recording attempt's file if it is not yet (its worker died first)."""
    _publish(folder, part, done["attempt"])
    return json.loads(done["summary"])


def assess_dataset(
    path: Path,
    profile: Profile | str,
    assessor: Assessor,
    out: Path,
    client,
    engine: Engine | None = None,
    draws: Draws | None = None,
    progress=None,
) -> BatchSummary:
    """Assess every file of the dataset at ``path`` on the cluster ``client`` is connected
    to; the decisions in ``out`` (a folder, one Parquet file a partition), and with an engine
    recorded in the store. ``out`` and the dataset must be where every worker sees them.
    Random draws are keyed by a secret of the run (``KeyedDraws``) unless ``draws`` is
    given: a partition redone draws what its first attempt drew."""
    from distributed import as_completed

    path, out = path.resolve(), out.resolve()  # as every worker finds them, whatever its folder
    if path.is_dir() and out.is_relative_to(path):
        raise ValueError(f"{out}: the decisions would be read back as data of {path}")
    files = dataset_files(path)
    out.mkdir(parents=True, exist_ok=True)
    for earlier in (*out.glob("part-*.parquet"), *out.glob(".part-*")):
        earlier.unlink()  # an earlier run's: the folder holds this run's decisions only
    run_id, draws = uuid4().hex, draws or KeyedDraws()
    url = None if engine is None else engine.url.render_as_string(hide_password=False)
    [shipped] = client.scatter([assessor], broadcast=True)  # sent once to each worker
    task = (profile, shipped, str(out), run_id, url, draws)
    futures = [
        client.submit(
            assess_part, part, str(file), *task, key=f"assess-{run_id}-{part}", pure=False
        )
        for part, file in enumerate(files)
    ]
    summary, channels = BatchSummary(), {}
    for done, future in enumerate(as_completed(futures), 1):
        counted = future.result()
        summary.received += counted["received"]
        summary.assessed += counted["assessed"]
        summary.rejected += counted["rejected"]
        for channel, n in counted["channels"].items():
            channels[channel] = channels.get(channel, 0) + n
        if progress:
            progress(done, len(files))
    summary.channels = channels
    for leftover in out.glob(".part-*"):
        leftover.unlink()  # attempts of dead workers that recorded nothing
    return summary


def ingest_part(path: str, profile: Profile | str, store_url: str) -> dict:
    """Ingest one file (a worker's task); its summary, as a dict. Ingest is idempotent per
    file: a file redone after its worker died counts what was stored as already stored."""
    from tamis import scoreboard  # noqa: F401  (it listens to what ingest stores)

    engine = open_store(store_url)
    try:
        return ingest(Path(path), profile, engine).as_dict()
    finally:
        engine.dispose()


def ingest_dataset(path: Path, profile: Profile | str, engine: Engine, client, progress=None):
    """Ingest every file of the folder at ``path`` into the store, a file per task; each
    file's summary, in the files' order."""
    from distributed import as_completed

    files, run_id = dataset_files(path.resolve()), uuid4().hex
    url = engine.url.render_as_string(hide_password=False)
    futures = [
        client.submit(ingest_part, str(file), profile, url, key=f"ingest-{run_id}-{n}", pure=False)
        for n, file in enumerate(files)
    ]
    for done, _ in enumerate(as_completed(futures), 1):
        if progress:
            progress(done, len(files))
    return [future.result() for future in futures]


@contextmanager
def connected(workers: int | None = None, address: str | None = None) -> Iterator:
    """A client of the cluster at ``address``, or of a cluster of ``workers`` processes on
    this machine (one thread each: Polars and the models bring their own)."""
    from distributed import Client, LocalCluster

    if address:
        with Client(address) as client:
            yield client
        return
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address=":0") as local,
        Client(local) as client,
    ):
        client.register_plugin(_prints_to_stderr())
        yield client


def _prints_to_stderr():
    """A plugin sending a local worker's prints (LightGBM's network messages) to stderr:
    the command's standard output is its result."""
    from distributed import WorkerPlugin

    class PrintsToStderr(WorkerPlugin):
        def setup(self, worker) -> None:
            os.dup2(2, 1)

    return PrintsToStderr()
