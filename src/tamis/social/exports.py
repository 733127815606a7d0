"""Ingest social-media posts as analysts export them with the usual research tools: the
NDJSON of Zeeschuimer/4CAT (TikTok, Instagram), the TikTok research API's JSON pages, a
Facebook page export as CSV, and Tamis' own JSON Lines. Never scraped: files only.

A mapping profile (``record: social_posts``) names, per canonical field, the columns that
feed it; nested JSON is read as dotted columns (``data.author.uniqueId``, ``…candidates.0.url``).
Only the mapped fields are read, so what an export holds of other people (commenters,
viewers) is never stored. Each post is read once as it comes in (``tamis.social.analyse``),
its images kept by their perceptual hash only. The declarations' pipeline does the rest:
batches, quarantine with the reason, idempotent reruns; received = accepted + rejected.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

import polars as pl
from sqlalchemy import Connection, Engine, select

from tamis.declarations import Kind, record_field
from tamis.ingest.checks import REJECTED_SCHEMA, Checked, check_records, describe, with_records
from tamis.ingest.pipeline import Progress, Stored, Summary, Target, ingest
from tamis.ingest.profiles import Profile
from tamis.ingest.readers import ROW, Malformed, RawBatch, SourceError, is_gzipped, read_batches
from tamis.settings import settings
from tamis.social.analyse import matcher_for, read_post
from tamis.social.tables import social_images, social_posts
from tamis.store.load import insert_new, open_table_staging

RECORD = "social_posts"
MAX_IMAGE_BYTES = 20 * 1024 * 1024
PLATFORMS = ("tiktok", "instagram", "facebook", "x", "youtube", "telegram", "other")


POST_FIELDS = (
    record_field("post_id", Kind.TEXT, "the platform's identifier of the post", True),
    record_field("platform", Kind.TEXT, "tiktok, instagram, facebook…", True),
    record_field("account", Kind.TEXT, "the seller's handle", True),
    record_field("author_name", Kind.TEXT, "the account's display name"),
    record_field("text", Kind.TEXT, "the post's text (caption, description)", True),
    record_field("posted_at", Kind.DATETIME, "when it was posted"),
    record_field("url", Kind.TEXT, "the post's address"),
    record_field("image", Kind.TEXT, "the post's image: a file name or address"),
)
PROFILES = {  # shipped profile -> what tells its files apart
    "social_zeeschuimer": "NDJSON of Zeeschuimer/4CAT (TikTok, Instagram)",
    "social_tiktok_research": "TikTok research API video query pages (JSON)",
    "social_facebook": "Facebook page export (CSV, Meta Content Library columns)",
    "social_posts": "Tamis' own JSON Lines",
}


# --- reading exports ---------------------------------------------------------------------


def flatten(record: object, prefix: str = "") -> dict[str, str]:
    """A nested JSON record as dotted columns of text; list members by their index."""
    if isinstance(record, dict):
        items = record.items()
    elif isinstance(record, list):
        items = enumerate(record)
    else:
        if record is None:
            return {}
        value = json.dumps(record) if isinstance(record, bool) else str(record)
        return {prefix: value}
    flat: dict[str, str] = {}
    for key, value in items:
        flat |= flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return flat


def posts_of(document: object) -> list:
    """The posts of a JSON document: a list's members, the list a response page holds under
    ``data`` (``{"data": {"videos": [...]}}``), else the document itself."""
    if isinstance(document, list):
        return [post for member in document for post in posts_of(member)]
    if isinstance(document, dict) and isinstance(document.get("data"), dict):
        lists = [v for v in document["data"].values() if isinstance(v, list)]
        if len(lists) == 1:
            return lists[0]
    return [document]


def _open(path: Path):
    return gzip.open(path, "rb") if is_gzipped(path) else path.open("rb")


def _document(path: Path) -> list | None:
    """The posts of a file holding one JSON document; None for JSON Lines (whose first line
    is a whole value, or which does not parse as one document)."""
    with _open(path) as handle:
        first = handle.readline()
    if not first.lstrip().startswith(b"["):
        try:
            json.loads(first)
            return None
        except ValueError:
            pass
    try:
        with _open(path) as handle:
            return posts_of(json.load(handle))
    except (ValueError, UnicodeDecodeError) as error:
        if first.lstrip().startswith(b"["):
            raise SourceError(f"{path}: not a JSON document: {error}") from None
        return None


def _json_records(path: Path) -> Iterator[tuple[int, dict | Malformed]]:
    """(row, record or why it is not one): the posts of one JSON document (a file starting
    with ``[``, or one object spread over several lines), else lines of JSON Lines."""
    document = _document(path)
    if document is not None:
        for row, post in enumerate(document, start=1):
            yield row, _object(post, row, str(post))
        return
    with _open(path) as handle:
        for row, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line.decode("utf-8"))
            except UnicodeDecodeError as error:
                yield row, Malformed(row, line.decode("utf-8", "replace"), f"not UTF-8: {error}")
                continue
            except ValueError as error:
                yield row, Malformed(row, line.decode("utf-8", "replace"), f"not JSON: {error}")
                continue
            yield row, _object(record, row, line.decode())


def _object(record, row: int, text: str) -> dict | Malformed:
    return record if isinstance(record, dict) else Malformed(row, text, "not an object")


def _frame(rows: list[dict], profile: Profile) -> pl.DataFrame:
    """Raw text per mapped field, under its first column's name: the first of its columns
    a record holds (exports mix platforms whose items differ). A strict profile's records
    also say which of their fields nobody reads."""
    maps = [fm for fm in profile.fields.values() if fm.columns]
    data = {fm.columns[0]: [_first(r, fm.columns) for r in rows] for fm in maps}
    if profile.strict:
        known = {c for fm in maps for c in fm.columns} | {ROW}
        data["__unknown"] = [", ".join(sorted(set(r) - known)) or None for r in rows]
    data[ROW] = [r[ROW] for r in rows]
    return pl.DataFrame(data, schema=dict.fromkeys(data, pl.String) | {ROW: pl.Int64})


def _first(record: dict, columns: tuple[str, ...]) -> str | None:
    return next((record[c] for c in columns if record.get(c) not in (None, "")), None)


def post_batches(
    path: Path, profile: Profile, fmt: str, batch_rows: int | None = None
) -> Iterator[tuple[pl.DataFrame, RawBatch]]:
    size = batch_rows or settings().batch_rows
    if fmt == "csv":
        for batch in read_batches(path, fmt, profile.delimiter, profile.encoding, size):
            frame = _frame(batch.frame.to_dicts(), profile)
            yield frame, RawBatch(frame, batch.malformed)
        return
    if fmt != "jsonl":
        raise SourceError(f"{path}: social-media posts come as JSON, JSON Lines or CSV")
    rows: list[dict] = []
    malformed: list[Malformed] = []
    for row, record in _json_records(path):
        if isinstance(record, Malformed):
            malformed.append(record)
        else:
            rows.append(flatten(record) | {ROW: row})
        if len(rows) + len(malformed) >= size:
            frame = _frame(rows, profile)
            yield frame, RawBatch(frame, malformed)
            rows, malformed = [], []
    if rows or malformed:
        frame = _frame(rows, profile)
        yield frame, RawBatch(frame, malformed)


# --- checking ----------------------------------------------------------------------------


def check_posts(raw: pl.DataFrame, profile: Profile) -> Checked:
    """The profile's conversions and required fields (a text of at most 100,000
    characters), and no field a strict profile does not read."""
    if "__unknown" not in raw.columns:
        return check_records(raw, POST_FIELDS, profile, ("post_id",))
    unknown = pl.col("__unknown").is_not_null()
    refused = raw.filter(unknown)
    checked = check_records(raw.filter(~unknown).drop("__unknown"), POST_FIELDS, profile,
                            ("post_id",))  # fmt: skip
    said = refused.select(
        ROW,
        pl.lit(None, pl.String).alias("record_key"),
        pl.lit("record").alias("field"),
        pl.col("__unknown").alias("value"),
        pl.lit("unknown field").alias("reason"),
    )
    rejected = with_records(describe(said), refused.drop("__unknown")).cast(REJECTED_SCHEMA)
    return Checked(checked.accepted, pl.concat([checked.rejected, rejected]).sort(ROW))


# --- storing -----------------------------------------------------------------------------


@dataclass
class Images:
    hashed: int = 0
    refused: int = 0
    refused_by_reason: Counter = field(default_factory=Counter)

    def count(self, hashed: dict | None) -> None:
        if hashed is None:
            return
        if "error" in hashed:
            self.refused += 1
            self.refused_by_reason[hashed["error"].split(":")[0]] += 1
        else:
            self.hashed += 1


def _image_name(written: str) -> str:
    """The file name an export gives an image: the last part of its path or address, so
    a name can never point outside the images folder."""
    path = urlparse(written).path if "://" in written else written
    return PurePosixPath(path.replace("\\", "/")).name


def _hashed(path: Path | None) -> dict:
    """The image's hashes, or why there are none."""
    from tamis.social.images import ImageError, hash_image

    try:
        if path is None or not path.is_file():
            raise ImageError("not among the export's images")
        if path.stat().st_size > MAX_IMAGE_BYTES:
            raise ImageError(f"larger than {MAX_IMAGE_BYTES // 2**20} MiB")
        found = hash_image(path.read_bytes())
    except ImageError as error:
        return {"error": str(error)}
    return {"pdq": found.pdq, "quality": found.quality, "phash": found.phash}


_matcher = None  # the brand matcher of this process (each worker builds its own)


def _start(brands: list[str]) -> None:
    global _matcher
    _matcher = matcher_for(brands)


def _read(text_and_image: tuple[str, Path | None]) -> tuple[dict, dict | None]:
    """A post's reading and, when its image is among the export's, the image's hashes."""
    text, image = text_and_image
    return asdict(read_post(text, _matcher)), None if image is None else _hashed(image)


def _image_path(written: str | None, folder: Path | None) -> Path | None:
    return folder / _image_name(written) if written and folder is not None else None


def _target(engine: Engine, images_folder: Path | None, images: Images, mapped) -> Target:
    """``mapped``: ``map`` of ``_read``, here or in worker processes."""

    def store(conn: Connection, checked: Checked, frame: pl.DataFrame, source_id: str,
              at: datetime) -> Stored:  # fmt: skip
        accepted = checked.accepted.with_columns(
            pl.concat_str(pl.col("platform").str.to_lowercase(), pl.lit(":"), "post_id").alias(
                "post_id"
            ),
            pl.col("platform").str.to_lowercase(),
        )
        ids = accepted["post_id"].to_list()
        stored = {
            r for chunk in range(0, len(ids), 1000) for r in conn.execute(
                select(social_posts.c.post_id).where(
                    social_posts.c.post_id.in_(ids[chunk : chunk + 1000]))
            ).scalars()
        }  # fmt: skip
        new = accepted.filter(~pl.col("post_id").is_in(list(stored))).to_dicts()
        readings = mapped(_read, [(p["text"], _image_path(p["image"], images_folder)) for p in new])
        posts, image_rows = [], []
        for post, (reading, hashed) in zip(new, readings, strict=True):
            posts.append(
                {name: post[name] for name in ("post_id", "platform", "account", "author_name",
                                               "text", "posted_at", "url")}
                | {name: json.dumps(value, ensure_ascii=False) for name, value in reading.items()}
                | dict(source_id=source_id, source_row=post[ROW], ingested_at=at)
            )  # fmt: skip
            if post["image"]:
                image_rows.append(dict(post_id=post["post_id"], position=0,
                                       name=post["image"][:2000], pdq=None, quality=None,
                                       phash=None, error=None) | (hashed or {}))  # fmt: skip
                images.count(hashed)
        # another ingest of the same posts may be storing them now: theirs stand
        inserted = insert_new(conn, social_posts, pl.DataFrame(posts, infer_schema_length=None))
        insert_new(conn, social_images, pl.DataFrame(image_rows, infer_schema_length=None))
        return Stored(inserted, accepted.height - inserted, checked.rejected.clear())

    return Target(
        RECORD,
        POST_FIELDS,
        post_batches,
        check_posts,
        lambda conn: open_table_staging(conn, [social_posts, social_images]),
        store,
    )


@dataclass
class PostSummary:
    posts: Summary
    images: Images

    def as_dict(self) -> dict:
        images = asdict(self.images) | {
            "refused_by_reason": dict(self.images.refused_by_reason.most_common())
        }
        return self.posts.as_dict() | {"images": images}


PARALLEL_FROM = 4 * 1024 * 1024  # bytes of export: smaller ones are read before workers start


@contextmanager
def _readers(path: Path, brands: list[str]):
    """``map`` reading posts: in worker processes, one per core, for a large export."""
    cores = os.cpu_count() or 1
    if cores < 2 or path.stat().st_size < PARALLEL_FROM:
        _start(brands)
        yield lambda f, items: list(map(f, items))
        return
    context = multiprocessing.get_context("spawn")  # the ingest runs threads: no fork
    with ProcessPoolExecutor(cores, context, initializer=_start, initargs=(brands,)) as pool:
        yield lambda f, items: list(pool.map(f, items, chunksize=64))


def guess_profile(path: Path) -> str:
    """The shipped profile of an export, from its shape: CSV is a Facebook export; a JSON
    document a TikTok research API answer; JSON Lines from Zeeschuimer carry
    ``source_platform``; other JSON Lines are Tamis' own."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".csv", ".tsv", ".txt")):
        return "social_facebook"
    for _, record in _json_records(path):
        if isinstance(record, dict):
            if "source_platform" in record and "data" in record:
                return "social_zeeschuimer"
            if "video_description" in record or "create_time" in record:
                return "social_tiktok_research"
            return "social_posts"
    return "social_posts"


def ingest_posts(
    path: Path | str,
    engine: Engine,
    profile: Profile | str | None = None,
    images: Path | str | None = None,
    batch_rows: int | None = None,
    progress: Progress | None = None,
) -> PostSummary:
    """Load an export of posts; ``images``: the folder of the images it names (their
    perceptual hashes are kept, never the files)."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    folder = Path(images) if images else None
    if folder is not None and not folder.is_dir():
        raise SourceError(f"{folder}: no such folder of images")
    counted = Images()
    from tamis.intel.ingest import read_source, stored_sources

    brands = []
    if "trademarks" in stored_sources(engine):
        brands = read_source(engine, "trademarks")["brand"].unique().sort().to_list()
    with _readers(path, brands) as mapped:
        summary = ingest(path, profile or guess_profile(path), engine, batch_rows, progress,
                         _target(engine, folder, counted, mapped))  # fmt: skip
    return PostSummary(summary, counted)
