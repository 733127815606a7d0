"""Value control on a lodged declaration, in plain Python, agrees with the columnar path.

Both give each declaration the same score, revenue at stake, forced channel and reasons as
data: the same reference (fallback level, analyst first), the same figures. Floats agree to
1e-12, not always to the last bit: Polars itself divides a column by a constant as an
exact division on one row and as a multiplication by the reciprocal on several.
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tamis import synth
from tamis.detectors.base import ItemRows, by_declaration
from tamis.detectors.valuation import ITEM_COLUMNS, ValuationDetector
from tamis.detectors.valuation.few import uses_few
from tamis.reasons import parse, render
from tamis.regions import REGION_OF
from tamis.valuation.reference import analyst_references

PARTIAL_TARIFF = pl.DataFrame(  # some rates missing: each comes from the longest prefix with it
    {
        "hs_prefix": ["30", "3004", "300490", "85", "8517", "64", "950300"],
        "duty_pct": [10.0, None, 30.0, 17.5, None, 25.0, None],
        "vat_pct": [20.0, 14.0, None, None, 7.0, None, None],
        "other_pct": [None, 1.0, None, 0.5, None, 0.25, 2.0],
    }
)


def same(a, b) -> bool:
    """Equal, floats to 1e-12 (relative), in nested figures too."""
    if isinstance(a, float) and isinstance(b, float):
        both_nan = math.isnan(a) and math.isnan(b)
        return both_nan or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def assert_same_signal(plain: dict, columnar: dict) -> None:
    assert plain.keys() == columnar.keys()
    assert plain["declaration_id"] == columnar["declaration_id"]
    assert plain["score"] == pytest.approx(columnar["score"], rel=1e-12, abs=1e-12, nan_ok=True), (
        plain
    )
    assert plain["revenue_at_stake"] == pytest.approx(
        columnar["revenue_at_stake"], rel=1e-9, nan_ok=True
    )
    assert plain["forced_channel"] == columnar["forced_channel"]
    said, expected = [parse(r) for r in plain["reasons"]], [parse(r) for r in columnar["reasons"]]
    assert None not in said
    assert same(said, expected), (said, expected)
    for language in ("en", "fr"):
        words = [render(r, language) for r in plain["reasons"]]
        assert words == [render(r, language) for r in columnar["reasons"]]


@pytest.fixture(scope="module")
def history() -> pl.DataFrame:
    return synth.generate(4000, seed=11).items


def analyst(declared: pl.DataFrame) -> pl.DataFrame:
    """Analyst references at several levels for goods often declared, one key set twice
    (the newer one applies)."""
    uv = pl.col("customs_value").cast(pl.Float64) / pl.when(pl.col("quantity_unit") == "KG").then(
        pl.col("net_mass_kg")
    ).otherwise(pl.col("quantity"))
    common = (
        declared.group_by("hs_code", "origin_country", "quantity_unit")
        .agg(pl.len(), uv.median().alias("uv"))
        .sort("len", "hs_code", "origin_country", descending=True)
        .unique("hs_code", keep="first", maintain_order=True)
    )
    kg = common.filter(quantity_unit="KG").rows(named=True)
    u = common.filter(quantity_unit="U").rows(named=True)
    first = analyst_references(
        pl.DataFrame(
            {
                "hs_code": [kg[0]["hs_code"][:6], u[0]["hs_code"][:4], kg[1]["hs_code"]],
                "origin": [kg[0]["origin_country"], "", REGION_OF[kg[1]["origin_country"]]],
                "basis": ["KG", "U", "KG"],
                "median_uv": [kg[0]["uv"] * 0.8, u[0]["uv"], kg[1]["uv"] * 1.2],
                "q1_uv": [kg[0]["uv"] * 0.6, None, kg[1]["uv"]],
                "q3_uv": [kg[0]["uv"], None, None],
                "n": [12, None, 80],
                "note": ["price study", None, None],
            }
        ),
        "price-list-2025",
        datetime(2025, 6, 1),
    )
    twice = {"hs_code": [kg[2]["hs_code"][:8]], "origin": [kg[2]["origin_country"]], "basis": "KG"}
    older = analyst_references(
        pl.DataFrame(twice | {"median_uv": kg[2]["uv"] * 3, "n": 3}), "old", datetime(2025, 1, 1)
    )
    newer = analyst_references(
        pl.DataFrame(twice | {"median_uv": kg[2]["uv"], "n": 3}),
        "price-list-2026",
        datetime(2026, 1, 1),
    )
    return pl.concat([newer, first, older])


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    return synth.generate(300, seed=12).items


@pytest.fixture(scope="module", params=["tariff", "partial tariff"])
def detector(request, history, sample) -> ValuationDetector:
    tariff = PARTIAL_TARIFF if request.param == "partial tariff" else None
    return ValuationDetector(min_n=10, tariff=tariff, analyst=analyst(sample)).fit(history)


def perturbed(sample: pl.DataFrame, seed: int) -> list[dict]:
    """The sample's items with the troubles lodgement meets: unknown and short HS codes,
    'other' lines, unknown or missing origins, zero or missing figures, other units, under-
    and over-declared values, missing rates, preferences."""
    rng = np.random.default_rng(seed)
    rows = sample.rows(named=True)
    for row in rows:
        u = rng.random(12)
        if u[0] < 0.05:
            row["hs_code"] = "0000000000"
        elif u[0] < 0.08:
            row["hs_code"] = row["hs_code"][:6]
        elif u[0] < 0.12:
            row["hs_code"] = row["hs_code"][:4] + "999999"  # an 'other' line never seen
        elif u[0] < 0.13:
            row["hs_code"] = None
        if u[1] < 0.05:
            row["origin_country"] = "ZZ"  # no region: straight to all origins
        elif u[1] < 0.08:
            row["origin_country"] = None
        elif u[1] < 0.14:
            row["origin_country"] = {"CN": "HK", "ES": "PT", "TR": "SA"}.get(
                row["origin_country"], "MA"
            )
        for field, zero, null in (("quantity", 0.04, 0.07), ("net_mass_kg", 0.03, 0.05)):
            if u[2] < zero:
                row[field] = 0.0
            elif u[2] < null:
                row[field] = None
        if u[3] < 0.03:
            row["customs_value"] = Decimal("0.00")
        elif u[3] < 0.05:
            row["customs_value"] = None
        elif u[3] < 0.20 and row["customs_value"] is not None:
            factor = rng.choice([0.08, 0.2, 0.4, 3.0, 8.0])
            row["customs_value"] = Decimal(f"{float(row['customs_value']) * factor:.2f}")
        if u[4] < 0.03:
            row["quantity_unit"] = None
        elif u[4] < 0.06:
            row["quantity_unit"] = "PR"
        if u[5] < 0.05:
            row["duty_rate"] = None
        if u[6] < 0.04:
            row["vat_rate"] = None
        if u[7] < 0.10:
            row["preference_code"], row["duty_rate"] = "EU", 0.0
    return rows


@pytest.fixture(scope="module")
def lodged(sample) -> tuple[list[dict], pl.Schema]:
    rows = perturbed(sample, seed=13)
    rows[0]["quantity"] = float("nan")  # left to Polars
    rows[1]["net_mass_kg"] = float("inf")
    return rows, sample.schema


def test_every_lodged_declaration_gets_its_columnar_signal(detector, lodged, monkeypatch):
    rows, schema = lodged
    columnar = by_declaration(
        ValuationDetector.assess(detector, pl.DataFrame(rows, schema=schema, orient="row"))
    )
    left_to_polars = []
    assess = detector.assess
    monkeypatch.setattr(detector, "assess", lambda b: left_to_polars.append(b) or assess(b))

    declarations: dict[str, list[dict]] = {}
    for row in rows:
        declarations.setdefault(row["declaration_id"], []).append(row)
    for items in declarations.values():
        plain = detector.assess_rows(ItemRows(items, schema))
        assert list(plain) == [items[0]["declaration_id"]]
        assert_same_signal(plain[items[0]["declaration_id"]], columnar[items[0]["declaration_id"]])

    # only the declarations with a NaN or an infinity went to Polars
    assert {d for b in left_to_polars for d in b["declaration_id"]} == {
        rows[0]["declaration_id"],
        rows[1]["declaration_id"],
    }
    # and the sample tried every way through
    assert sum(len(items) > 1 for items in declarations.values()) > 50
    compared = detector.assess_items(pl.DataFrame(rows[2:], schema=schema, orient="row"))
    assert set(compared["ref_level"]) >= {
        f"hs{k}/{s}" for k in (10, 6, 4) for s in ("origin", "region", "all")
    } - {"hs6/all"}
    assert set(compared["ref_source"]) == {"history", "price-list-2025", "price-list-2026"}
    assert set(compared["basis"]) == {"KG", "U", "L"}
    assert set(compared["direction"]) == {"under", "over", None}
    assert compared["widening"].max() > 1 and compared["ref_n"].min() < 50
    assert (compared["revenue_at_stake"] > 0).sum() > 10
    assert sum(s["score"] == 0 and not s["reasons"] for s in columnar.values()) > 20
    assert len(declarations) - compared["declaration_id"].n_unique() > 5  # no reference


def test_a_few_declarations_at_once_get_their_columnar_signals(detector, lodged):
    rows, schema = lodged
    few = rows[2:60]
    columnar = by_declaration(
        ValuationDetector.assess(detector, pl.DataFrame(few, schema=schema, orient="row"))
    )
    plain = detector.assess_rows(ItemRows(few, schema))
    assert list(plain) == list(columnar)
    for declaration, signal in plain.items():
        assert_same_signal(signal, columnar[declaration])


def test_look_ups_are_built_once_for_the_references_in_force(detector, history):
    plain = detector.plain()
    assert detector.plain() is plain
    refitted = ValuationDetector(tariff=detector.tariff).fit(history)
    assert refitted.plain() is not plain


def test_items_of_an_unusual_schema_are_left_to_polars(detector, lodged, monkeypatch):
    rows, schema = lodged
    few = rows[2:30]
    categorical = pl.Schema({**schema, "quantity_unit": pl.Categorical()})
    columnar = by_declaration(
        ValuationDetector.assess(detector, pl.DataFrame(few, schema=categorical, orient="row"))
    )
    left_to_polars = []
    assess = detector.assess
    monkeypatch.setattr(detector, "assess", lambda b: left_to_polars.append(b) or assess(b))
    plain = detector.assess_rows(ItemRows(few, categorical))
    assert len(left_to_polars) == 1 and left_to_polars[0].height == len(few)
    assert plain.keys() == columnar.keys()
    for declaration, signal in plain.items():
        assert_same_signal(signal, columnar[declaration])


# --- any declaration ---------------------------------------------------------------------------

FIGURES = [None, 0.0, -3.0, 1e-9, 0.37, 1.0, 48.0, 2500.0, 1e12]
FACTORS = [0.01, 0.1, 0.3, 0.6, 1.0, 1.7, 4.0, 30.0]


@st.composite
def declarations(draw, known: list[dict]):
    items = []
    for number in range(1, draw(st.integers(1, 4)) + 1):
        item = dict(draw(st.sampled_from(known)), declaration_id="H1", item_number=number)
        for field in ("quantity", "net_mass_kg"):
            if draw(st.integers(0, 5)) == 0:
                item[field] = draw(st.sampled_from(FIGURES))
        value = item["customs_value"]
        if draw(st.integers(0, 5)) == 0:
            item["customs_value"] = draw(st.sampled_from([None, Decimal("0.00"), Decimal("-5")]))
        elif value is not None:
            factor = draw(st.sampled_from(FACTORS))
            item["customs_value"] = Decimal(f"{float(value) * factor:.2f}")
        if draw(st.integers(0, 4)) == 0:
            hs = item["hs_code"]
            item["hs_code"] = draw(
                st.sampled_from([None, "", hs[:4], hs[:6], hs[:8] + "99", hs[:4] + "90", "99"])
            )
        if draw(st.integers(0, 4)) == 0:
            item["origin_country"] = draw(st.sampled_from([None, "", "ZZ", "EU", "HK", "MA"]))
        if draw(st.integers(0, 4)) == 0:
            item["quantity_unit"] = draw(st.sampled_from([None, "KG", "U", "L", "PR", ""]))
        for field in ("duty_rate", "vat_rate"):
            if draw(st.integers(0, 4)) == 0:
                item[field] = draw(st.sampled_from([None, 0.0, 2.5, 40.0]))
        if draw(st.integers(0, 4)) == 0:
            item["preference_code"] = draw(st.sampled_from([None, "EU", ""]))
        items.append(item)
    return items


@pytest.fixture(scope="module")
def known(sample) -> list[dict]:
    return sample.select(ITEM_COLUMNS).rows(named=True)


def test_any_declaration_gets_its_columnar_signal(detector, history, known):
    schema = history.select(list(known[0])).schema

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(declarations(known))
    def check(items):
        frame = pl.DataFrame(items, schema=schema, orient="row")
        columnar = by_declaration(ValuationDetector.assess(detector, frame))
        plain = detector.assess_rows(ItemRows(items, schema))
        assert list(plain) == ["H1"]
        assert_same_signal(plain["H1"], columnar["H1"])

    check()


def test_a_lodged_declaration_logs_the_reference_uses_of_the_columnar_path(detector, lodged):
    rows, schema = lodged
    numbered = ValuationDetector(tariff=detector.tariff_)
    numbered.references_ = detector.references_.with_columns(  # as the store numbers them
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("reference_id")
    )
    numbered.tariff_ = detector.tariff_
    declarations: dict[str, list[dict]] = {}
    for row in rows[2:]:  # not the NaN and infinity ones, left to Polars
        declarations.setdefault(row["declaration_id"], []).append(row)
    logged = 0
    for items in declarations.values():
        frame = pl.DataFrame(items, schema=schema, orient="row")
        compared = numbered.assess_items(frame).filter(
            (pl.col("score") > 0) & pl.col("ref_reference_id").is_not_null()
        )
        expected = [
            {"declaration_id": r["declaration_id"], "item_number": r["item_number"],
             "reference_id": r["ref_reference_id"], "basis": r["basis"],
             "declared_uv": pytest.approx(r["uv"], rel=1e-12),
             "score": pytest.approx(r["score"], rel=1e-12), "direction": r["direction"]}
            for r in compared.iter_rows(named=True)
        ]  # fmt: skip
        assert uses_few(numbered.plain(), items, schema) == expected
        logged += len(expected)
    assert logged > 20
