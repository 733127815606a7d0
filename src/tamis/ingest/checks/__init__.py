"""Map raw text records to canonical fields, convert them and say what is wrong, row by row.

Everything is a Polars expression over the whole batch: one error column per field holds
the reason a value was refused (or null). A record is rejected for its first error; the
declaration-level checks (duplicate item numbers, items that disagree on the header, a
declaration with a refused item) run on what is left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
import pycountry

from tamis.declarations import FIELDS, HEADER_NAMES, OUTCOME_FIELDS, Field, Kind
from tamis.ingest.profiles import FieldMap, Profile
from tamis.ingest.readers import ROW, SourceError

USER_ASSIGNED_COUNTRIES = {"ZZ": "unknown", "XK": "Kosovo"}
COUNTRIES = {c.alpha_2 for c in pycountry.countries} | set(USER_ASSIGNED_COUNTRIES)
COUNTRY_ALIASES = {c.alpha_3: c.alpha_2 for c in pycountry.countries} | {
    c.numeric: c.alpha_2 for c in pycountry.countries
}
CURRENCIES = {c.alpha_3 for c in pycountry.currencies}
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
    "%Y%m%d",
)

EXPECTED = {
    "unknown field": "only the fields the profile reads, as its source.strict asks",
    "text too long": "at most 100,000 characters",
    "missing required field": "a value is required",
    "invalid HS code": "expected 6 to 10 digits",
    "unknown country code": "expected an ISO 3166-1 country code",
    "unknown currency code": "expected an ISO 4217 currency code",
    "not a number": "expected a number",
    "negative value": "expected a value of 0 or more",
    "implausibly large amount": "expected an amount under 10^15",
    "implausibly large value": "beyond the field's bound: rates in % up to 1,000 (VAT 100), "
    "quantities and masses up to 10^9, other figures up to 10^12",
    "not a whole number": "expected a whole number of 1 or more",
    "unparseable date": "expected a date such as 2025-03-31 or 2025-03-31 14:05:00",
    "implausible date": "expected a year between 1950 and 2100",
    "unknown code": "expected one of the listed values",
    "duplicate item number": "item numbers must be unique within a declaration",
    "duplicate key": "a record's key appears once in a file",
    "inconsistent header": "items of one declaration must agree on its header fields",
    "rejected with its declaration": "another item of the same declaration was refused",
    "already stored from another source": "a declaration is stored once; amend it",
    "malformed line": "a record with the header's columns",
    "code too long": "at most 64 characters",
}

ERR = "__err_"
CODE_LENGTH = 64  # the store's column width for codes and identifiers
TEXT_LENGTH = 100_000  # characters: beyond any description or post, short of a dumped file
RAW = "__raw_"


REJECTED_SCHEMA = {
    ROW: pl.Int64,
    "record_key": pl.String,
    "field": pl.String,
    "value": pl.String,
    "reason": pl.String,
    "detail": pl.String,
    "record": pl.String,
}


@dataclass
class Checked:
    accepted: pl.DataFrame  # canonical typed columns + ROW
    rejected: pl.DataFrame  # REJECTED_SCHEMA


def source_column(fm: FieldMap, columns: Sequence[str]) -> str | None:
    return next((c for c in fm.columns if c in columns), None)


def _text(fm: FieldMap, columns: Sequence[str]) -> pl.Expr:
    column = source_column(fm, columns)
    text = pl.col(column) if column else pl.lit(None if fm.value is None else str(fm.value))
    text = text.cast(pl.String).str.strip_chars()
    if fm.mapping:
        text = text.replace(fm.mapping)
    return pl.when(text.str.len_chars() > 0).then(text)


def _number(text: pl.Expr, fm: FieldMap) -> pl.Expr:
    if fm.thousands.isspace():  # "1 234,5" with a plain, non-breaking or narrow space
        text = text.str.replace_all(r"[\s\u00a0\u202f]", "")
    elif fm.thousands:
        text = text.str.replace_all(fm.thousands, "", literal=True)
    if fm.decimal != ".":
        text = text.str.replace_all(fm.decimal, ".", literal=True)
    return text


def sample_formats(sample: pl.Series | None, formats: Sequence[str]) -> list[str]:
    """The formats that read a sample of the values, in order, stopping once all are read:
    parsing every row with every format would cost more than all other checks together."""
    if sample is None or sample.is_empty():
        return list(formats)
    useful, unread = [], sample
    for fmt in formats:
        parsed = unread.str.to_datetime(fmt, strict=False, time_unit="us").is_not_null()
        if parsed.any():
            useful.append(fmt)
            unread = unread.filter(~parsed)
            if unread.is_empty():
                break
    return useful or list(formats[:1])


MONEY_LIMIT = 1e15  # beyond any real declaration, and beyond what Decimal(18, 2) holds


def _datetime(text: pl.Expr, fmt: str) -> pl.Expr:
    """The text as a date-time; one written with its offset (%z) is kept in UTC."""
    value = text.str.to_datetime(fmt, strict=False, time_unit="us")
    if "%z" in fmt or "%Z" in fmt:
        value = value.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return value


def _parse(
    field: Field, fm: FieldMap, text: pl.Expr, typed: pl.Expr, sample: pl.Series | None = None
) -> tuple[pl.Expr, pl.Expr]:
    """The typed value, and the reason it was refused (null when it was not), worked out
    after the value: from ``typed``, the value's column, where the value tells it."""
    present = text.is_not_null()
    kind = field.kind
    if kind in (Kind.DECIMAL, Kind.SIGNED, Kind.MONEY, Kind.INTEGER):
        number = _number(text, fm).cast(pl.Float64, strict=False)
        if fm.scale is not None:
            number = number * fm.scale
        bad = present & (number.is_null() | ~number.is_finite())
        if kind is Kind.INTEGER:
            value = number.cast(pl.Int64, strict=False)
            refused = bad | (present & ((number != number.floor()) | (number < 1)))
            return value, pl.when(refused).then(pl.lit("not a whole number"))
        value = number
        huge = present & (number.abs() >= MONEY_LIMIT)
        if kind is Kind.MONEY:  # exact from the text; via float only for scaled or 1e5 forms
            fits = pl.when(~huge)
            value = fits.then(number.round(2)).cast(pl.Decimal(18, 2), strict=False)
            if fm.scale is None:
                exact = fits.then(_number(text, fm)).cast(pl.Decimal(18, 2), strict=False)
                value = pl.coalesce(exact, value)
        negative = present & (number < 0) & (kind is not Kind.SIGNED)
        reason = pl.when(bad).then(pl.lit("not a number")).when(negative)
        reason = reason.then(pl.lit("negative value"))
        if kind is Kind.MONEY:
            reason = reason.when(huge).then(pl.lit("implausibly large amount"))
        elif field.bound is not None:
            too_large = present & (number.abs() > field.bound)
            reason = reason.when(too_large).then(pl.lit("implausibly large value"))
        return value, reason
    if kind is Kind.DATETIME:
        formats = fm.formats or sample_formats(sample, DATETIME_FORMATS)
        value = pl.coalesce([_datetime(text, f) for f in formats])
        year = typed.dt.year()
        reason = pl.when(present & typed.is_null()).then(pl.lit("unparseable date"))
        return value, reason.when((year < 1950) | (year > 2100)).then(pl.lit("implausible date"))
    if kind is Kind.HS_CODE:
        value = text.str.replace_all(r"[\s.\-]", "")
        if fm.pad_to:
            value = value.str.zfill(fm.pad_to)
        ok = typed.str.contains(r"^\d{6,10}$")
        return value, pl.when(present & ~ok).then(pl.lit("invalid HS code"))
    if kind is Kind.COUNTRY:
        value = text.str.to_uppercase()
        value = value.replace(COUNTRY_ALIASES)
        return value, pl.when(present & ~typed.is_in(COUNTRIES)).then(
            pl.lit("unknown country code")
        )
    if kind is Kind.CURRENCY:
        value = text.str.to_uppercase()
        return value, pl.when(present & ~typed.is_in(CURRENCIES)).then(
            pl.lit("unknown currency code")
        )
    if field.choices:
        value = text.str.to_lowercase()
        return value, pl.when(present & ~typed.is_in(field.choices)).then(pl.lit("unknown code"))
    if kind is Kind.CODE:
        too_long = present & (text.str.len_chars() > CODE_LENGTH)
        return text.str.to_uppercase(), pl.when(too_long).then(pl.lit("code too long"))
    too_long = present & (text.str.len_chars() > TEXT_LENGTH)
    return text, pl.when(too_long).then(pl.lit("text too long"))


DTYPES = {
    Kind.DECIMAL: pl.Float64,
    Kind.SIGNED: pl.Float64,
    Kind.MONEY: pl.Decimal(18, 2),
    Kind.INTEGER: pl.Int64,
    Kind.DATETIME: pl.Datetime("us"),
}


def convert(
    raw: pl.DataFrame, fields: Sequence[Field], maps: dict[str, FieldMap], prefix: str = ""
) -> list[list[pl.Expr]]:
    """Expressions giving each field's raw text, then from it (so that it is worked out once)
    its typed value, then its error: three steps, each over the columns of the one before."""
    texts, values, errors = [], [], []
    for field in fields:
        name = prefix + field.name
        fm = maps.get(field.name)
        if fm is None or (fm.value is None and source_column(fm, raw.columns) is None):
            if fm is not None and field.required:
                raise SourceError(
                    f"no column for required field {name!r}: looked for {list(fm.columns)}, "
                    f"the file has {[c for c in raw.columns if c != ROW]}"
                )
            texts.append(pl.lit(None, dtype=pl.String).alias(RAW + name))
            values.append(pl.lit(None, dtype=DTYPES.get(field.kind, pl.String)).alias(name))
            errors.append(pl.lit(None, dtype=pl.String).alias(ERR + name))
            continue
        read = _text(fm, raw.columns)
        texts.append(read.alias(RAW + name))
        text = pl.col(RAW + name)
        sample = None
        if field.kind is Kind.DATETIME and not fm.formats:
            sample = raw.select(read.drop_nulls()).to_series()
            sample = sample.gather_every(max(raw.height // 2000, 1))
        value, reason = _parse(field, fm, text, pl.col(name), sample)
        # PostgreSQL cannot store a NUL: refused the same way on every store
        nul = text.str.contains("\x00", literal=True)
        reason = pl.when(nul).then(pl.lit("contains a NUL character")).otherwise(reason)
        if field.required:
            reason = (
                pl.when(text.is_null()).then(pl.lit("missing required field")).otherwise(reason)
            )
        values.append(value.cast(DTYPES.get(field.kind, pl.String)).alias(name))
        errors.append(reason.cast(pl.String).alias(ERR + name))
    return [texts, values, errors]


def first_error(names: Sequence[str]) -> list[pl.Expr]:
    """Field, value and reason of the first refused field of each row."""
    refused = [pl.col(ERR + n).is_not_null() for n in names]

    def pick(what):
        return pl.coalesce([pl.when(r).then(what(n)) for r, n in zip(refused, names, strict=True)])

    return [
        pick(lambda n: pl.lit(n)).alias("field"),
        pick(lambda n: pl.col(RAW + n)).alias("value"),
        pick(lambda n: pl.col(ERR + n)).alias("reason"),
    ]


def reject(
    frame: pl.DataFrame, where: pl.Expr, field: str, reason: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split rows matching ``where`` off as rejected for one reason."""
    mask = frame.select(where.fill_null(False)).to_series()
    refused = frame.filter(mask).with_columns(
        pl.lit(field).alias("field"),
        pl.col(RAW + field).alias("value") if RAW + field in frame.columns else pl.lit(None),
        pl.lit(reason).alias("reason"),
    )
    return frame.filter(~mask), refused


def describe(rejected: pl.DataFrame) -> pl.DataFrame:
    """Add the message a person reads: record, field, value and what was expected."""
    details = [
        f"row {row}, {key or 'record'}: {field} {value!r}: {reason} ({EXPECTED.get(reason, '')})"
        if value is not None
        else f"row {row}, {key or 'record'}: {field}: {reason} ({EXPECTED.get(reason, '')})"
        for row, key, field, value, reason in rejected.select(
            ROW, "record_key", "field", "value", "reason"
        ).iter_rows()
    ]
    return rejected.with_columns(pl.Series("detail", details, dtype=pl.String))


def with_records(rejected: pl.DataFrame, raw: pl.DataFrame) -> pl.DataFrame:
    """Attach to each rejected row its raw record, as JSON, as it was read."""
    columns = [c for c in raw.columns if c != ROW]
    records = raw.filter(pl.col(ROW).is_in(rejected[ROW].implode())).select(
        ROW, pl.struct(columns).struct.json_encode().alias("record")
    )
    return rejected.join(records, on=ROW, how="left")


OUTCOME_PREFIX = "outcome_"
OUTCOME_OWN_FIELDS = tuple(
    f for f in OUTCOME_FIELDS if f.name not in ("declaration_id", "item_number")
)


def _typed(
    raw: pl.DataFrame, steps: list[list[pl.Expr]], names: Sequence[str], record_key: pl.Expr
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows converted; (refused for their first wrong field, the others)."""
    first, *then = steps
    frame = raw.lazy().select(ROW, *first)
    for step in then:
        frame = frame.with_columns(step)
    frame = frame.with_columns(first_error(names)).with_columns(record_key.alias("record_key"))
    frame = frame.collect()
    return frame.filter(pl.col("field").is_not_null()), frame.filter(pl.col("field").is_null())


def _checked(ok: pl.DataFrame, parts: Sequence[pl.DataFrame], raw: pl.DataFrame) -> Checked:
    columns = [ROW, "record_key", "field", "value", "reason"]
    rejected = pl.concat([p.select(columns) for p in parts]).sort(ROW)
    rejected = with_records(describe(rejected), raw)
    keep = [c for c in ok.columns if not c.startswith((ERR, RAW))]
    keep = [c for c in keep if c not in ("field", "value", "reason", "record_key")]
    return Checked(ok.select(keep), rejected)


def check_all(raw: pl.DataFrame, profile: Profile) -> Checked:
    """``check`` as columnar expressions over the whole batch, which words every refusal."""
    steps = convert(raw, FIELDS, profile.fields)
    names = [f.name for f in FIELDS]
    if profile.outcomes:
        outcomes = convert(raw, OUTCOME_OWN_FIELDS, profile.outcomes, OUTCOME_PREFIX)
        steps = [step + more for step, more in zip(steps, outcomes, strict=True)]
        names += [OUTCOME_PREFIX + f.name for f in OUTCOME_OWN_FIELDS]
    record_key = pl.concat_str(
        pl.col(RAW + "declaration_id").fill_null("?"),
        pl.lit(" item "),
        pl.col(RAW + "item_number").fill_null("?"),
    )
    refused, ok = _typed(raw, steps, names, record_key)
    ok, duplicates = reject(
        ok,
        ~pl.struct("declaration_id", "item_number").is_first_distinct(),
        "item_number",
        "duplicate item number",
    )
    versions = ok.select(HEADER_NAMES).unique().group_by("declaration_id").len()
    disagreeing = versions.filter(pl.col("len") > 1)["declaration_id"].implode()
    ok, inconsistent = reject(
        ok, pl.col("declaration_id").is_in(disagreeing), "declaration_id", "inconsistent header"
    )
    parts = [refused, duplicates, inconsistent]
    refused_ids = pl.concat([p.select("declaration_id") for p in parts])["declaration_id"]
    ok, siblings = reject(
        ok,
        pl.col("declaration_id").is_in(refused_ids.drop_nulls().implode()),
        "declaration_id",
        "rejected with its declaration",
    )
    return _checked(ok, [*parts, siblings], raw)


def check_records(
    raw: pl.DataFrame, fields: Sequence[Field], profile: Profile, key: Sequence[str]
) -> Checked:
    """``check`` for a source other than declarations: one record per row, identified by
    ``key`` (its fields' values name the record in every message)."""
    names = [f.name for f in fields]
    record_key = pl.concat_str(
        [pl.lit(f"{k} ") + pl.col(RAW + k).fill_null("?") for k in key], separator=", "
    )
    refused, ok = _typed(raw, convert(raw, fields, profile.fields), names, record_key)
    ok, duplicates = reject(ok, ~pl.struct(*key).is_first_distinct(), key[-1], "duplicate key")
    return _checked(ok, [refused, duplicates], raw)
