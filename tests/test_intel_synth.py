"""The other sources of the synthetic year agree with its declarations, discrepancies aside."""

from __future__ import annotations

import polars as pl
import pytest

from tamis.synth import Synthetic, generate
from tamis.synth.sources import PAYMENT_MATERIALITY, TAX_MATERIALITY

col = pl.col


@pytest.fixture(scope="module")
def year() -> Synthetic:
    return generate(3000, 11)


def test_every_party_record_names_its_true_importer(year: Synthetic) -> None:
    importers = set(year.items["importer_id"]) | set(year.manifests["consignee_entity"])
    for frame, entity in (
        (year.manifests, "consignee_entity"),
        (year.payments, "payer_entity"),
        (year.tax_returns, "company_entity"),
        (year.trademarks, "distributor_entity"),
    ):
        assert frame[entity].null_count() == 0
        assert frame[entity].str.contains(r"^IMP\d{6}$").all()
    assert set(year.tax_returns["company_entity"]) <= importers


def test_names_are_spelt_differently_across_sources(year: Synthetic) -> None:
    names = year.items.select("importer_id", "importer_name").unique()
    spelt = year.manifests.join(names, left_on="consignee_entity", right_on="importer_id")
    differ = spelt.filter(col("consignee_name") != col("importer_name"))
    assert 0.2 < differ.height / spelt.height < 0.6
    # one spelling per importer and carrier, not one per bill
    per_channel = spelt.group_by("consignee_entity", "carrier").agg(
        col("consignee_name").n_unique()
    )
    assert (per_channel["consignee_name"] == 1).all()


def test_payments_reveal_under_invoicing_and_honest_ones_match(year: Synthetic) -> None:
    value = year.items.group_by("declaration_id").agg(
        col("customs_value").cast(pl.Float64).sum(), col("fraud_type").drop_nulls().first()
    )
    paid = (
        year.payments.filter(col("declaration_reference").is_not_null())
        .group_by(declaration_id="declaration_reference")
        .agg(
            col("amount_national").cast(pl.Float64).sum().alias("paid"),
            col("discrepancy").first(),
        )
        .join(value, on="declaration_id")
        .with_columns(ratio=col("paid") / col("customs_value"))
    )
    planted = paid.filter(col("discrepancy") == "under_invoicing")
    assert planted.height > 20
    assert planted["fraud_type"].is_in(["valuation", "quantity", "counterfeit"]).all()
    assert (planted["ratio"] >= PAYMENT_MATERIALITY * 0.98).all()
    assert (paid.filter(col("discrepancy").is_null())["ratio"] < PAYMENT_MATERIALITY * 1.02).all()
    undeclared = year.payments.filter(col("discrepancy") == "undeclared")
    assert undeclared["declaration_reference"].null_count() == undeclared.height > 0


def test_tax_returns_book_what_customs_saw_unless_planted(year: Synthetic) -> None:
    cost = (
        year.items.with_columns(
            quarter=col("lodged_at").dt.truncate("1q").dt.date(),
            cost=(col("customs_value") + col("duty_amount")).cast(pl.Float64),
        )
        .group_by(company_entity="importer_id", period_start="quarter")
        .agg(col("cost").sum())
    )
    returns = year.tax_returns.join(cost, on=["company_entity", "period_start"]).with_columns(
        ratio=col("import_purchases").cast(pl.Float64) / col("cost")
    )
    assert returns.height == year.tax_returns.height
    honest = returns.filter(col("discrepancy").is_null())
    assert (honest["ratio"] < TAX_MATERIALITY).all()
    assert (returns.filter(col("discrepancy") == "imports_not_reported")["ratio"] <= 0.41).all()
    above = returns.filter(col("discrepancy") == "purchases_above_customs")
    assert above.height > 5 and (above["ratio"] >= TAX_MATERIALITY).all()


def test_the_ring_shares_phones_and_pays_one_account_abroad(year: Synthetic) -> None:
    ring = year.items.filter("ring_member")["importer_id"].unique()
    phones = year.tax_returns.filter(col("company_entity").is_in(ring.implode()))["phone"]
    assert phones.n_unique() <= 2
    ring_payments = year.payments.filter(
        col("payer_entity").is_in(ring.implode()) & (col("discrepancy") == "undeclared")
    )
    assert ring_payments["beneficiary_account"].n_unique() == 1


def test_the_register_lists_each_brands_authorised_importers(year: Synthetic) -> None:
    register = year.trademarks
    assert register.filter(col("brand") == "Nike")["distributor_id"].to_list() == [
        "IMP000011",
        "IMP000412",
    ]
    assert (register["nice_classes"].str.contains(r"^\d+(;\d+)*$")).all()
