"""The synthetic year: what detectors, demos and benchmarks rely on."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest

from tamis.declarations import FIELDS, Kind
from tamis.synth import (
    AUTHORISED_DISTRIBUTORS,
    BRAND_PREMIUM,
    EXCHANGE_RATES,
    LINES,
    Synthetic,
    generate,
    write,
)

DTYPES = {
    Kind.DATETIME: pl.Datetime("us"),
    Kind.MONEY: pl.Decimal(18, 2),
    Kind.DECIMAL: pl.Float64,
    Kind.INTEGER: pl.Int32,
}
TRUTH = {
    "fraud": pl.Boolean,
    "fraud_type": pl.String,
    "revenue_at_stake": pl.Decimal(18, 2),
    "ring_member": pl.Boolean,
}
DECLARATIONS = 4000
col = pl.col


@pytest.fixture(scope="module")
def year() -> Synthetic:
    return generate(DECLARATIONS, 5)


@pytest.fixture(scope="module")
def declarations(year: Synthetic) -> pl.DataFrame:
    return year.items.group_by("declaration_id", maintain_order=True).agg(
        col("fraud").any(),
        col("fraud_type").drop_nulls().first(),
        col("gross_mass_kg").sum().alias("declared_gross_kg"),
        pl.len().alias("items"),
    )


def _float(name: str) -> pl.Expr:
    return col(name).cast(pl.Float64)


def test_same_seed_gives_identical_frames() -> None:
    first, again, other = generate(1500, 3), generate(1500, 3), generate(1500, 4)
    assert first.items.equals(again.items)
    assert first.manifests.equals(again.manifests)
    assert not first.items.equals(other.items)


def test_columns_are_the_canonical_fields_then_the_ground_truth(year: Synthetic) -> None:
    expected = {f.name: DTYPES.get(f.kind, pl.String) for f in FIELDS} | TRUTH
    assert dict(year.items.schema) == expected
    assert list(year.items.columns) == list(expected)


def test_required_fields_are_always_filled(year: Synthetic) -> None:
    required = [f.name for f in FIELDS if f.required]
    assert year.items.select(col(required).null_count().sum()).row(0) == (0,) * len(required)


def test_declarations_are_sorted_and_their_items_numbered(
    year: Synthetic, declarations: pl.DataFrame
) -> None:
    items = year.items
    assert items.equals(items.sort("lodged_at", "declaration_id", "item_number"))
    assert declarations.height == DECLARATIONS
    assert declarations["declaration_id"].str.contains(r"^D\d{4}-\d{7}$").all()
    runs = items["declaration_id"].ne_missing(items["declaration_id"].shift()).sum()
    assert runs == DECLARATIONS  # the items of a declaration are consecutive
    numbered = items.select(
        col("item_number") == pl.int_range(1, pl.len() + 1).over("declaration_id")
    )
    assert numbered.to_series().all()
    assert declarations["items"].is_between(1, 5).all()
    assert (declarations["items"] <= 2).mean() > 0.7


def test_money_follows_rates_and_tariff(year: Synthetic) -> None:
    rate = col("invoice_currency").replace_strict(EXCHANGE_RATES, return_dtype=pl.Float64)
    customs_value = _float("invoice_amount") * rate
    duty = _float("customs_value") * col("duty_rate") / 100
    tax = (_float("customs_value") + _float("duty_amount")) * col("vat_rate") / 100
    error = year.items.select(
        (customs_value - _float("customs_value")).abs().max().alias("customs_value"),
        (duty - _float("duty_amount")).abs().max().alias("duty"),
        (tax - _float("tax_amount")).abs().max().alias("tax"),
    )
    assert max(error.row(0)) <= 0.005 + 1e-6  # rounded to the hundredth


def test_masses_quantities_and_brands_are_consistent(year: Synthetic) -> None:
    items = year.items
    assert (items["net_mass_kg"] > 0).all()
    assert (items["gross_mass_kg"] >= items["net_mass_kg"]).all()
    pieces = items.filter(col("quantity_unit") == "U")["quantity"]
    assert (pieces == pieces.round(0)).all() and (pieces >= 1).all()
    kilos = items.filter(col("quantity_unit") == "KG")
    assert (kilos["quantity"] == kilos["net_mass_kg"]).all()
    assert set(items["brand"].drop_nulls()) <= set(BRAND_PREMIUM)
    assert items["courier_id"].null_count() > 0.9 * items.height


def test_fraud_share_and_mix_are_plausible(year: Synthetic, declarations: pl.DataFrame) -> None:
    assert 0.04 <= declarations["fraud"].mean() <= 0.11
    assert set(declarations["fraud_type"].drop_nulls()) == {
        "valuation",
        "classification",
        "origin",
        "counterfeit",
        "quantity",
    }
    assert (year.items["fraud"] == year.items["fraud_type"].is_not_null()).all()


def test_revenue_at_stake_is_positive_exactly_on_fraud(year: Synthetic) -> None:
    revenue, fraud = year.items["revenue_at_stake"].cast(pl.Float64), year.items["fraud"]
    assert (revenue.filter(fraud) > 0).all()
    assert (revenue.filter(~fraud) == 0).all()


def test_undervalued_items_are_far_below_their_peers(year: Synthetic) -> None:
    unit_value = year.items.with_columns(
        (_float("customs_value") / col("net_mass_kg")).alias("unit_value")
    )
    peers = (
        unit_value.filter(~col("fraud"))
        .group_by("hs_code", "origin_country")
        .agg(col("unit_value").median().alias("peer_median"))
    )
    ratio = unit_value.join(peers, on=["hs_code", "origin_country"]).with_columns(
        (col("unit_value") / col("peer_median")).alias("ratio")
    )
    undervalued = ratio.filter(col("fraud_type") == "valuation")["ratio"]
    honest = ratio.filter(~col("fraud"))["ratio"]
    assert undervalued.len() > 50
    assert undervalued.median() < 0.3
    assert (undervalued < 0.6).mean() > 0.9
    assert (honest < 0.4).mean() < 0.01


def test_manifests_carry_the_true_gross_mass(year: Synthetic, declarations: pl.DataFrame) -> None:
    manifests = year.manifests
    declared = manifests.filter(col("declaration_id").is_not_null())
    assert declared["declaration_id"].n_unique() == declared.height == DECLARATIONS
    assert 0 < manifests["declaration_id"].null_count() < 0.01 * DECLARATIONS
    both = declarations.join(declared, on="declaration_id")
    gaps = both.filter(col("fraud_type") == "quantity")
    assert gaps.height > 10
    assert (gaps["gross_mass_kg"] >= 1.3 * gaps["declared_gross_kg"]).all()
    honest = both.filter(~col("fraud"))
    tolerance = 0.02 * honest["declared_gross_kg"] + 0.01
    assert ((honest["gross_mass_kg"] - honest["declared_gross_kg"]).abs() <= tolerance).all()


def test_ring_members_share_addresses_broker_and_suppliers(year: Synthetic) -> None:
    ring = year.items.filter("ring_member")
    members = ring["importer_id"].n_unique()
    assert members >= 6
    assert ring["importer_address"].n_unique() <= 3 < members
    assert ring["declarant_id"].n_unique() == 1
    assert ring["supplier_id"].n_unique() <= 3
    per_declaration = ring.group_by("declaration_id").agg(col("fraud").any())
    assert per_declaration["fraud"].mean() > 0.8
    first_seen = ring.group_by("importer_id").agg(col("lodged_at").min())["lodged_at"]
    assert first_seen.min() > datetime(2025, 1, 1) + timedelta(days=30)  # new companies


def test_counterfeits_carry_a_brand_their_importer_does_not_distribute(year: Synthetic) -> None:
    fakes = year.items.filter(col("fraud_type") == "counterfeit")
    assert fakes.height > 10
    for brand, description, importer in fakes.select("brand", "description", "importer_id").rows():
        mentioned = (b for b in BRAND_PREMIUM if f"MARQUE {b.upper()}" in description)
        named = brand or next(mentioned, None)
        assert named, description
        assert importer not in AUTHORISED_DISTRIBUTORS[named]


def test_misclassified_goods_keep_their_true_description(year: Synthetic) -> None:
    described = {line.hs_code: line.description for line in LINES}
    moved = year.items.filter(col("fraud_type") == "classification")
    assert moved.height > 10
    for hs_code, description in moved.select("hs_code", "description").rows():
        assert not description.startswith(described[hs_code])


def test_fake_origins_claim_a_preference_the_route_betrays(year: Synthetic) -> None:
    faked = year.items.filter(col("fraud_type") == "origin")
    assert faked.height > 10
    assert faked["preference_code"].null_count() == 0
    assert (faked["export_country"] != faked["origin_country"]).mean() > 0.5
    honest = year.items.filter(~col("fraud") & col("preference_code").is_not_null())
    assert (honest["export_country"] != honest["origin_country"]).mean() < 0.1


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".jsonl"])
def test_write_puts_the_other_sources_beside_the_items(tmp_path, suffix: str) -> None:
    data = generate(300, 1)
    paths = write(data, tmp_path / f"year{suffix}")
    assert paths["manifests"] == tmp_path / f"year.manifests{suffix}"
    assert set(paths) == {"items", *Synthetic.SOURCES}
    read = {".parquet": pl.read_parquet, ".csv": pl.read_csv, ".jsonl": pl.read_ndjson}[suffix]
    assert read(paths["items"]).height == data.items.height
    for name in Synthetic.SOURCES:
        assert read(paths[name]).height == getattr(data, name).height > 0
    if suffix == ".parquet":
        assert read(paths["items"]).equals(data.items)


def test_write_refuses_an_unknown_format(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"year\.xlsx.*\.parquet"):
        write(generate(10, 1), tmp_path / "year.xlsx")
