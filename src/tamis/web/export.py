"""What a list shows, exported as CSV or as an Excel workbook, streamed as it is read:
a million rows never sit in memory (CSV goes out row by row; the workbook is written in
xlsxwriter's constant-memory mode to a temporary file, then sent in chunks)."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime

import xlsxwriter
from fastapi import HTTPException
from fastapi.responses import StreamingResponse

FORMATS = ("csv", "xlsx")
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CHUNK = 1 << 16
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """A text a spreadsheet would run as a formula is kept as text (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # so that Excel reads the file as UTF-8
    writer.writerow(header)
    for n, row in enumerate(rows, 1):
        writer.writerow([_cell(v) for v in row])
        if n % 1000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _xlsx(header: Sequence[str], rows: Iterable[Sequence]) -> Iterator[bytes]:
    with tempfile.TemporaryFile() as spool:
        book = xlsxwriter.Workbook(
            spool, {"constant_memory": True, "strings_to_formulas": False, "in_memory": False}
        )
        sheet = book.add_worksheet()
        bold = book.add_format({"bold": True})
        day = book.add_format({"num_format": "dd/mm/yyyy"})
        moment = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
        sheet.write_row(0, 0, header, bold)
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row):
                if isinstance(value, datetime):
                    sheet.write_datetime(r, c, value.replace(tzinfo=None), moment)
                elif isinstance(value, date):
                    sheet.write_datetime(r, c, datetime(value.year, value.month, value.day), day)
                else:
                    sheet.write(r, c, value)
        book.close()
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            yield chunk


def exported(name: str, fmt: str, header: Sequence[str], rows: Iterable[Sequence]):
    """A download of ``rows`` under ``header`` as ``name.csv`` or ``name.xlsx``."""
    if fmt not in FORMATS:
        raise HTTPException(422, f"export format {fmt!r}: one of {', '.join(FORMATS)}")
    body = _csv(header, rows) if fmt == "csv" else _xlsx(header, rows)
    return StreamingResponse(
        body,
        media_type=MEDIA[fmt],
        headers={"content-disposition": f'attachment; filename="{name}.{fmt}"'},
    )
