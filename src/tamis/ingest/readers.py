"""Stream a source file as batches of raw text records, numbered by data row.

Every value comes out as text (or null) so that validation, not the reader, decides what
is wrong with it; a line the reader cannot split into the header's columns is reported as
malformed with its row number, never dropped.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

ROW = "__row"  # data row number: 1 is the first record after any header


class SourceError(ValueError):
    """A file that cannot be read at all, with what was expected."""


@dataclass(frozen=True)
class Malformed:
    row: int
    text: str
    reason: str


@dataclass
class RawBatch:
    frame: pl.DataFrame  # all columns String, plus ROW
    malformed: list[Malformed] = field(default_factory=list)

    @property
    def received(self) -> int:
        return self.frame.height + len(self.malformed)


def is_gzipped(path: Path) -> bool:
    """Whether the file is gzip-compressed (by its first bytes, whatever its name)."""
    with path.open("rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


def _open_text(path: Path, encoding: str, **options):
    if is_gzipped(path):
        return gzip.open(path, "rt", encoding=encoding, **options)
    return path.open(encoding=encoding, **options)


def source_format(path: Path, declared: str | None = None) -> str:
    """csv, parquet or jsonl, from the profile or the file name (``.csv.gz``: csv)."""
    suffix = Path(path.stem).suffix if path.suffix.lower() == ".gz" else path.suffix
    fmt = (declared or suffix.lstrip(".")).lower()
    fmt = {"ndjson": "jsonl", "json": "jsonl", "pq": "parquet", "txt": "csv", "tsv": "csv"}.get(
        fmt, fmt
    )
    if fmt not in {"csv", "parquet", "jsonl"}:
        raise SourceError(
            f"{path}: cannot read '.{fmt}' files: expected CSV, Parquet or JSON Lines"
        )
    return fmt


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.all().cast(pl.String)) if frame.width else frame


def _numbered(frame: pl.DataFrame, rows: list[int]) -> pl.DataFrame:
    return _as_text(frame).with_columns(pl.Series(ROW, rows, dtype=pl.Int64))


def _csv_batches(path: Path, delimiter: str, encoding: str, batch_rows: int) -> Iterator[RawBatch]:
    try:
        # the text is decoded ahead of the header: bytes foreign to the encoding further on
        # are the rows' business (quarantined), not the header's
        with _open_text(path, encoding, newline="", errors="replace") as handle:
            header = next(csv.reader(handle, delimiter=delimiter), None)
    except UnicodeDecodeError as error:
        raise SourceError(
            f"{path}: not valid {encoding} ({error.reason} at byte {error.start}); "
            "set source.encoding in the profile (e.g. latin-1)"
        ) from None
    except (EOFError, OSError) as error:  # a broken or truncated compressed file
        raise SourceError(f"{path}: cannot read: {error}") from None
    if not header:
        raise SourceError(f"{path}: empty file, expected a header line with column names")
    decodes, longest = _surveyed(path, encoding)
    if not decodes:
        yield from _csv_batches_of_foreign_bytes(path, delimiter, encoding, batch_rows)
        return
    bad: dict[int, Malformed] = {}

    def on_invalid(row: pa_csv.InvalidRow) -> str:
        data_row = (row.number or 0) - 1
        reason = f"expected {row.expected_columns} columns, found {row.actual_columns}"
        bad[data_row] = Malformed(data_row, row.text, reason)
        return "skip"

    try:
        reader = pa_csv.open_csv(
            pa.input_stream(str(path), compression="gzip" if is_gzipped(path) else None),
            read_options=pa_csv.ReadOptions(
                encoding=encoding,
                use_threads=False,
                block_size=block_size(longest),
            ),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, invalid_row_handler=on_invalid),
            convert_options=pa_csv.ConvertOptions(
                # bytes, decoded per value: a row of bytes foreign to the encoding is
                # quarantined, not the whole file refused
                column_types={name: pa.binary() for name in header},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, OSError) as error:  # OSError: a truncated compressed stream
        raise SourceError(f"{path}: cannot read as CSV: {error}") from None
    next_row, reported = 1, 0
    pending = pa.Table.from_batches([], schema=reader.schema)

    def take(n: int) -> RawBatch:
        """The next n parsed rows, numbered past the malformed lines around them."""
        nonlocal next_row, reported, pending
        table, pending = pending.slice(0, n), pending.slice(n)
        rows = []
        while len(rows) < table.num_rows:
            if next_row not in bad:
                rows.append(next_row)
            next_row += 1
        malformed = [bad[r] for r in sorted(bad) if r < next_row][reported:]
        reported += len(malformed)
        frame, undecodable = _decoded(pl.from_arrow(table), rows, encoding, delimiter)
        frame, swallowed = _unclosed_quotes(frame, delimiter)
        return RawBatch(frame, sorted(malformed + undecodable + swallowed, key=lambda m: m.row))

    try:
        for batch in reader:
            pending = pa.concat_tables([pending, pa.Table.from_batches([batch])])
            while pending.num_rows >= batch_rows:
                yield take(batch_rows)
    except (pa.ArrowInvalid, OSError) as error:  # OSError: a truncated compressed stream
        raise SourceError(
            f"{path}: cannot read as CSV after data row {next_row - 1}: {error}"
        ) from None
    final = take(pending.num_rows)
    final.malformed.extend(bad[r] for r in sorted(bad) if r >= next_row)
    yield final


BLOCK = 1 << 20


def block_size(longest_line: int) -> int:
    """Bytes of CSV text Arrow parses at a time. It reads up to 32 blocks ahead of the
    parser, so small blocks keep memory flat whatever the file's size; and a row longer
    than a block would refuse the whole file, so a block holds two of the longest line."""
    return max(BLOCK, 1 << (2 * longest_line).bit_length())


def _surveyed(path: Path, encoding: str) -> tuple[bool, int]:
    """(whether the whole file reads in its encoding, else the Arrow reader cannot even
    report the rows that do not: their text fails it; its longest line, in bytes)."""
    decoder, decodes = codecs.getincrementaldecoder(encoding)(), True
    longest = line = 0
    try:
        with gzip.open(path) if is_gzipped(path) else path.open("rb") as handle:
            while chunk := handle.read(1 << 22):
                if decodes:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        decodes = False
                ends = np.flatnonzero(np.frombuffer(chunk, np.uint8) == ord("\n"))
                if not len(ends):
                    line += len(chunk)
                    continue
                longest = max(longest, line + int(ends[0]) + 1, int(np.diff(ends).max(initial=0)))
                line = len(chunk) - int(ends[-1]) - 1
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        decodes = False
    except (EOFError, OSError):
        pass  # a broken compressed file: the Arrow reader says where
    return decodes, max(longest, line)


def _csv_batches_of_foreign_bytes(
    path: Path, delimiter: str, encoding: str, batch_rows: int
) -> Iterator[RawBatch]:
    """A CSV file with bytes foreign to its encoding, read by Python's reader: rows holding
    such bytes or the wrong number of values are malformed, the others read as they are."""

    def shown(value: str) -> str:
        return value.encode(encoding, "surrogateescape").decode(encoding, "replace")

    def foreign(value: str) -> bool:
        return any("\udc80" <= c <= "\udcff" for c in value)

    with _open_text(path, encoding, newline="", errors="surrogateescape") as handle:
        records = csv.reader(handle, delimiter=delimiter)
        header = [shown(name) for name in next(records)]
        rows: list[list[str | None]] = []
        numbers: list[int] = []
        malformed: list[Malformed] = []
        for number, record in enumerate(records, start=1):
            text = shown(delimiter.join(record))[:2000]
            if len(record) != len(header):
                reason = f"expected {len(header)} columns, found {len(record)}"
                malformed.append(Malformed(number, text, reason))
            elif any(foreign(v) for v in record):
                where = header[next(i for i, v in enumerate(record) if foreign(v))]
                reason = (
                    f"{where!r}: bytes that are not {encoding}; set source.encoding in the profile"
                )
                malformed.append(Malformed(number, text, reason))
            else:
                rows.append([v if v != "" else None for v in record])
                numbers.append(number)
            if len(rows) + len(malformed) >= batch_rows:
                yield _text_batch(header, rows, numbers, malformed, delimiter)
                rows, numbers, malformed = [], [], []
        yield _text_batch(header, rows, numbers, malformed, delimiter)


def _text_batch(header, rows, numbers, malformed, delimiter: str) -> RawBatch:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(header, pl.String), orient="row")
    frame, swallowed = _unclosed_quotes(
        frame.with_columns(pl.Series(ROW, numbers, dtype=pl.Int64)), delimiter
    )
    return RawBatch(frame, sorted(malformed + swallowed, key=lambda m: m.row))


def _decoded(
    raw: pl.DataFrame, rows: list[int], encoding: str, delimiter: str
) -> tuple[pl.DataFrame, list[Malformed]]:
    """The rows as text, numbered; those with bytes that are not UTF-8 once read in the
    profile's encoding set apart as malformed, their text shown with replacement marks."""
    numbered = pl.Series(ROW, rows, dtype=pl.Int64)
    try:
        return raw.with_columns(pl.all().cast(pl.String), numbered), []
    except pl.exceptions.ComputeError:
        pass  # some value is not UTF-8: found value by value, in this batch only
    columns, kept, malformed = raw.columns, [], []
    for index, cells in enumerate(raw.iter_rows()):
        try:
            kept.append([None if v is None else v.decode("utf-8") for v in cells])
        except UnicodeDecodeError:
            where = next(c for c, v in zip(columns, cells, strict=True) if _foreign(v))
            text = delimiter.join((v or b"").decode("utf-8", errors="replace") for v in cells)
            malformed.append(Malformed(rows[index], text, _not_in(encoding, where)))
            kept.append(None)
    frame = pl.DataFrame(
        [row for row in kept if row is not None],
        schema=dict.fromkeys(columns, pl.String),
        orient="row",
    ).with_columns(pl.Series(ROW, [r for r, row in zip(rows, kept, strict=True) if row], pl.Int64))
    return frame, malformed


def _not_in(encoding: str, column: str) -> str:
    return f"{column!r}: bytes that are not {encoding}; set source.encoding in the profile"


def _foreign(value: bytes | None) -> bool:
    """Bytes that are not UTF-8."""
    try:
        value is None or value.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _unclosed_quotes(frame: pl.DataFrame, delimiter: str) -> tuple[pl.DataFrame, list[Malformed]]:
    """Records where a quote left open swallowed the lines after it: a quoted value that
    runs over a line break into what has the shape of a whole record of its own. They are
    malformed (kept whole, with the lines they swallowed), not one record with odd text."""
    columns = [c for c in frame.columns if c != ROW]
    fields = frame.width - 1
    multiline = pl.any_horizontal(pl.col(columns).str.contains("\n", literal=True))
    suspects = frame.filter(multiline) if columns else frame.clear()
    malformed = []
    for record in suspects.iter_rows(named=True):
        column = next(
            (
                c
                for c in columns
                if record[c]
                and any(line.count(delimiter) >= fields - 1 for line in record[c].splitlines()[1:])
            ),
            None,
        )
        if column is not None:
            text = delimiter.join(record[c] or "" for c in columns)
            reason = (
                f"a quote opened in {column!r} is not closed: the lines after it were read"
                " as its value"
            )
            malformed.append(Malformed(record[ROW], text, reason))
    if not malformed:
        return frame, []
    rows = pl.Series([m.row for m in malformed], dtype=pl.Int64)
    return frame.filter(~pl.col(ROW).is_in(rows.implode())), malformed


def _parquet_batches(path: Path, batch_rows: int) -> Iterator[RawBatch]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise SourceError(f"{path}: not a readable Parquet file: {error}") from None
    next_row = 1
    for batch in parquet.iter_batches(batch_size=batch_rows):
        rows = list(range(next_row, next_row + batch.num_rows))
        next_row += batch.num_rows
        yield RawBatch(_numbered(pl.from_arrow(batch), rows))


def _jsonl_batches(path: Path, encoding: str, batch_rows: int) -> Iterator[RawBatch]:
    records: list[dict] = []
    rows: list[int] = []
    malformed: list[Malformed] = []

    def flush() -> RawBatch:
        frame = pl.DataFrame(records, infer_schema_length=None) if records else pl.DataFrame()
        batch = RawBatch(_numbered(frame, rows), list(malformed))
        records.clear(), rows.clear(), malformed.clear()
        return batch

    def lines() -> Iterator[tuple[int, str]]:
        number = 0
        try:
            with _open_text(path, encoding, errors="replace") as handle:
                for number, line in enumerate(handle, start=1):
                    yield number, line
        except (EOFError, OSError) as error:  # a broken or truncated compressed file
            raise SourceError(f"{path}: cannot read after line {number}: {error}") from None

    for number, line in lines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("a JSON object was expected")
        except ValueError as error:
            malformed.append(Malformed(number, line.rstrip("\n")[:2000], f"invalid JSON: {error}"))
            continue
        records.append(
            {k: v if v is None or isinstance(v, str) else json.dumps(v) for k, v in record.items()}
        )
        rows.append(number)
        if len(records) >= batch_rows:
            yield flush()
    yield flush()


def read_batches(
    path: Path, fmt: str, delimiter: str = ",", encoding: str = "utf-8", batch_rows: int = 50_000
) -> Iterator[RawBatch]:
    if not path.is_file():
        raise SourceError(f"{path}: no such file")
    if fmt == "csv":
        return _csv_batches(path, delimiter, encoding, batch_rows)
    if fmt == "parquet":
        return _parquet_batches(path, batch_rows)
    return _jsonl_batches(path, encoding, batch_rows)
