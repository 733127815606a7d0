"""The plain-Python check of a few records agrees with the full columnar checks."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tamis.declarations import FIELDS, Kind
from tamis.ingest.checks import check_all
from tamis.ingest.checks.few import check, check_plainly_valid
from tamis.ingest.profiles import load_profile
from tamis.ingest.readers import ROW

NUMBERS = ["12500.00", "12.345", "12.355", "0.005", "-0", "-1", "1e5", "1,5", ".5", "5.", "+3"]
NUMBERS += ["inf", "nan", "1_000", "1e15", "999999999999999.99", "1000000000000000", "1.234,56"]
VALUES = {
    Kind.TEXT: ["Shoes", " chaussures\u3000", "café vert", "\x1cx", "\u200b", "a\tb "],
    Kind.CODE: ["IMP1", " imp1 ", "a" * 65, "Ä1", "x\u00a0", "\x1cX", "casa-port"],
    Kind.INTEGER: ["1", "2", "0", "-1", "1.0", "1e0", "007", " 3 ", "99999999999999999999"],
    Kind.DECIMAL: NUMBERS,
    Kind.MONEY: NUMBERS,
    Kind.DATETIME: ["2025-03-01T10:00:00", "2025-03-01 10:00:00.5", "2025-03-01", "01/03/2025"]
    + ["20250301", "2025-02-30", "1900-01-01", "2025-03-01T10:00:00.1234567", "2025-3-1"],
    Kind.HS_CODE: ["6403990000", "640399", "6403.99.00", "6403 99", "64039", "12345678901"]
    + ["64O399", "6403\t99", "901110000"],
    Kind.COUNTRY: ["CN", "cn", "CHN", "156", "XX", "ZZ", " fr ", "Cn", "ÇN"],
    Kind.CURRENCY: ["EUR", "eur", "XXX", "ABC", "MAD", "€"],
    Kind.BOOLEAN: ["true", "no", "X"],
}
NAMES = [f.name for f in FIELDS]
NATIONAL = """
name: national
fields:
  declaration_id: declaration_id
  lodged_at: lodged_at
  office: {column: office, map: {"301": CASA-PORT}}
  procedure: {value: "4000"}
  importer_id: importer_id
  item_number: item_number
  hs_code: {column: hs_code, pad_to: 10}
  origin_country: origin_country
  customs_value: {column: customs_value, decimal: ",", thousands: "."}
  invoice_amount: {column: invoice_amount, thousands: " "}
  description: description
"""


def values(field):
    pool = list(field.choices) + [c.upper() for c in field.choices] + ["bogus"]
    return st.one_of(st.none(), st.sampled_from(pool if field.choices else VALUES[field.kind]))


@st.composite
def batches(draw):
    """1 to 3 records; usually of one declaration with the same header, sometimes not."""
    first = {f.name: draw(values(f)) for f in FIELDS}
    rows = [first]
    for _ in range(draw(st.integers(0, 2))):
        row = {f.name: draw(values(f)) for f in FIELDS}
        if draw(st.booleans()):
            row |= {f.name: first[f.name] for f in FIELDS if f.is_header}
        rows.append(row)
    return pl.DataFrame(
        [r | {ROW: n} for n, r in enumerate(rows, start=1)],
        schema={**dict.fromkeys(NAMES, pl.String), ROW: pl.Int64},
    )


TYPICAL = {
    "declaration_id": "D1",
    "lodged_at": "2025-03-01T10:00:00",
    "office": "CASA-PORT",
    "procedure": "4000",
    "importer_id": "IMP1",
    "hs_code": "6403990000",
    "origin_country": "CN",
    "customs_value": "12500.00",
}


@st.composite
def plausible_batches(draw):
    """A typical declaration of 1 to 3 items with a few fields drawn from the pools, so
    that many batches are accepted whole and the others differ from them by little."""
    fields = st.sampled_from([f for f in FIELDS if f.name not in ("declaration_id", "item_number")])
    rows = []
    for n in range(1, draw(st.integers(1, 3)) + 1):
        row = dict.fromkeys(NAMES) | TYPICAL | {"item_number": str(n), ROW: n}
        for field in draw(st.sets(fields, max_size=4)):
            if not field.is_header or n == 1 or draw(st.booleans()):
                row[field.name] = draw(values(field))
            else:
                row[field.name] = rows[0][field.name]
        rows.append(row)
    return pl.DataFrame(rows, schema={**dict.fromkeys(NAMES, pl.String), ROW: pl.Int64})


def agree(raw, profile):
    plain = check_plainly_valid(raw, profile)
    if plain is None:
        return False
    full = check_all(raw, profile)
    assert full.rejected.is_empty(), full.rejected["detail"].to_list()
    assert plain.accepted.schema == full.accepted.schema
    assert plain.accepted.to_dicts() == full.accepted.to_dicts()
    return True


SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))


@SETTINGS
@given(st.one_of(batches(), plausible_batches()))
def test_what_the_quick_check_accepts_the_full_checks_accept_with_the_same_values(raw):
    agree(raw, load_profile("canonical"))


@SETTINGS
@given(plausible_batches())
def test_the_same_holds_under_a_profile_with_conversions(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("profile") / "national.yaml"
    path.write_text(NATIONAL, encoding="utf-8")
    agree(raw, load_profile(path))


def test_a_plain_lodged_declaration_takes_the_quick_way_and_a_faulty_one_the_full_way():
    profile = load_profile("canonical")
    plain = {
        "declaration_id": "D2025-1",
        "lodged_at": "2025-03-01T10:00:00",
        "office": "casa-port",
        "importer_id": "IMP000123",
        "origin_country": "chn",
        "customs_value": "12500.005",
        "hs_code": "6403.99.00.00",
    }
    rows = [plain | {"item_number": str(n), ROW: n} for n in (1, 2)]
    raw = pl.DataFrame(rows).with_columns(pl.col(ROW).cast(pl.Int64))
    assert agree(raw, profile)
    accepted = check(raw, profile).accepted.row(0, named=True)
    assert (accepted["office"], accepted["origin_country"], accepted["hs_code"]) == (
        "CASA-PORT",
        "CN",
        "6403990000",
    )
    assert str(accepted["customs_value"]) == "12500.00"

    # just under 10^15 written out, but 10^15 as a float: the full checks refuse it
    huge = raw.with_columns(pl.lit("999999999999999.99").alias("customs_value"))
    assert check_plainly_valid(huge, profile) is None
    assert set(check(huge, profile).rejected["reason"]) >= {"implausibly large amount"}

    faulty = raw.with_columns(pl.lit("2").alias("item_number"))  # the same item twice
    assert check_plainly_valid(faulty, profile) is None
    checked = check(faulty, profile)
    assert checked.rejected["reason"].to_list() == [
        "rejected with its declaration",
        "duplicate item number",
    ]
