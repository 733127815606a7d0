"""A handful of records (one lodged declaration) checked in plain Python.

Polars pays a fixed cost per expression, whatever the number of rows: the ~110 expressions
of ``checks.check_all`` take tens of milliseconds even for one row. ``check`` accepts a
handful of records here only when every value is plainly valid under the same rules, and
otherwise runs the full checks, which word the refusals. It is deliberately
narrow: whatever it is not sure of (exponents, unusual date formats, non-ASCII codes...)
goes the full way, and a test holds its answers to those of the full checks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

import polars as pl

from tamis.declarations import FIELDS, HEADER_NAMES, Field, Kind
from tamis.ingest.checks import (
    CODE_LENGTH,
    COUNTRIES,
    COUNTRY_ALIASES,
    CURRENCIES,
    DTYPES,
    MONEY_LIMIT,
    OUTCOME_OWN_FIELDS,
    OUTCOME_PREFIX,
    REJECTED_SCHEMA,
    TEXT_LENGTH,
    Checked,
    check_all,
    source_column,
)
from tamis.ingest.profiles import FieldMap, Profile
from tamis.ingest.readers import ROW

# What Polars' strip_chars() removes: the characters of Unicode's White_Space property.
WHITE_SPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
WHITE_SPACE += "\u2028\u2029\u202f\u205f\u3000"
PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
PLAIN_WHOLE = re.compile(r"[0-9]{1,15}")
ISO_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?)?"
)
HS_DIGITS = re.compile(r"[0-9]{6,10}")
CENT = Decimal("0.01")


class Unsure(Exception):
    """A value this module does not vouch for: the full checks decide."""


def _number(text: str, fm: FieldMap) -> str:
    if fm.scale is not None or fm.thousands.isspace():
        raise Unsure
    if fm.thousands:
        text = text.replace(fm.thousands, "")
    if fm.decimal != ".":
        text = text.replace(fm.decimal, ".")
    if not PLAIN_NUMBER.fullmatch(text):
        raise Unsure
    return text


def _value(field: Field, fm: FieldMap, text: str):
    """The typed value of a present text, or Unsure."""
    kind = field.kind
    if kind is Kind.INTEGER:
        if not PLAIN_WHOLE.fullmatch(text) or int(text) < 1:
            raise Unsure
        return int(text)
    if kind in (Kind.DECIMAL, Kind.SIGNED, Kind.MONEY):
        number = _number(text, fm)
        if number.startswith("-") and float(number) < 0 and kind is not Kind.SIGNED:
            raise Unsure
        if kind is not Kind.MONEY:
            if abs(float(number)) > field.bound:
                raise Unsure  # the full checks word the refusal
            return float(number)
        if abs(float(number)) >= MONEY_LIMIT:  # as the full checks compare it: as a float
            raise Unsure
        return Decimal(number).quantize(CENT, rounding=ROUND_HALF_EVEN)
    if kind is Kind.DATETIME:
        if fm.formats or not ISO_DATETIME.fullmatch(text):
            raise Unsure
        value = datetime.fromisoformat(text)
        if not 1950 <= value.year <= 2100:
            raise Unsure
        return value
    if kind is Kind.TEXT and len(text) > TEXT_LENGTH:
        raise Unsure  # the full checks word the refusal
    if not text.isascii() and kind is not Kind.TEXT and kind is not Kind.BOOLEAN:
        raise Unsure
    if kind is Kind.HS_CODE:
        code = text.replace(" ", "").replace(".", "").replace("-", "")
        code = code.zfill(fm.pad_to) if fm.pad_to else code
        if not HS_DIGITS.fullmatch(code):
            raise Unsure
        return code
    if kind is Kind.COUNTRY:
        code = text.upper()
        code = COUNTRY_ALIASES.get(code, code)
        if code not in COUNTRIES:
            raise Unsure
        return code
    if kind is Kind.CURRENCY:
        if text.upper() not in CURRENCIES:
            raise Unsure
        return text.upper()
    if field.choices:
        if text.lower() not in field.choices:
            raise Unsure
        return text.lower()
    if kind is Kind.CODE:
        if len(text) > CODE_LENGTH:
            raise Unsure
        return text.upper()
    return text


def _unsure(record: dict):
    raise Unsure


def _reader(field: Field, fm: FieldMap | None, columns: Sequence[str]):
    """A function of a raw record giving the field's typed value, or raising Unsure."""
    column = source_column(fm, columns) if fm else None
    if fm is None or (fm.value is None and column is None):
        if fm is not None and field.required:  # the full checks name the missing column
            return _unsure
        return lambda record: None
    constant = None if fm.value is None else str(fm.value)

    def read(record: dict):
        text = record[column] if column else constant
        if text is not None:
            text = text.strip(WHITE_SPACE)
            text = fm.mapping.get(text, text) if fm.mapping else text
        if not text:
            if field.required:
                raise Unsure
            return None
        if "\x00" in text:
            raise Unsure  # refused by the full checks, with the reason
        return _value(field, fm, text)

    return read


QUICK_LIMIT = 64  # records; a lodged declaration, not a file's batch


def check(raw: pl.DataFrame, profile: Profile) -> Checked:
    """Accepted canonical rows and rejected rows, with every row of ``raw`` in one of them."""
    if raw.height <= QUICK_LIMIT:
        if (plain := check_plainly_valid(raw, profile)) is not None:
            return plain
    return check_all(raw, profile)


def check_plainly_valid(raw: pl.DataFrame, profile: Profile) -> Checked | None:
    """Every record of ``raw`` accepted, typed exactly as ``check`` types it; or None when
    any record might be refused (``check`` then runs the full checks)."""
    if any(dtype != pl.String for name, dtype in raw.schema.items() if name != ROW):
        return None
    plain = plainly_valid(raw.rows(named=True), raw.columns, profile)
    if plain is None:
        return None
    rows, schema = plain
    accepted = pl.DataFrame(rows, schema=schema, orient="row")
    return Checked(accepted, pl.DataFrame(schema=REJECTED_SCHEMA))


def plainly_valid(
    records: list[dict], columns: Sequence[str], profile: Profile
) -> tuple[list[dict], pl.Schema] | None:
    """The typed rows of raw text ``records`` (``columns``, and ``ROW``) and their schema
    when every record is plainly valid; else None."""
    readers, schema = _readers(profile, tuple(columns))
    try:
        rows = [
            {ROW: record[ROW]} | {name: read(record) for name, read in readers}
            for record in records
        ]
    except (Unsure, ValueError, ArithmeticError):
        return None
    keys = [(r["declaration_id"], r["item_number"]) for r in rows]
    headers = {}
    for row in rows:
        header = tuple(row[n] for n in HEADER_NAMES)
        if headers.setdefault(row["declaration_id"], header) != header:
            return None
    if len(set(keys)) < len(keys):
        return None
    return rows, schema


_READERS: dict[tuple, tuple[Profile, list, pl.Schema]] = {}


def _readers(profile: Profile, columns: tuple[str, ...]) -> tuple[list, pl.Schema]:
    """Each field's reader and the typed schema, built once per profile and columns: a
    lodgement pays for checking its values, not for building the checks."""
    key = (id(profile), columns)
    cached = _READERS.get(key)
    if cached is None or cached[0] is not profile:
        fields = [(f.name, f, profile.fields.get(f.name)) for f in FIELDS]
        if profile.outcomes:
            fields += [
                (OUTCOME_PREFIX + f.name, f, profile.outcomes.get(f.name))
                for f in OUTCOME_OWN_FIELDS
            ]
        readers = [(name, _reader(f, fm, columns)) for name, f, fm in fields]
        types = {n: DTYPES.get(f.kind, pl.String) for n, f, _ in fields}
        if len(_READERS) >= 64:
            _READERS.clear()
        _READERS[key] = cached = (profile, readers, pl.Schema({ROW: pl.Int64} | types))
    return cached[1], cached[2]
