"""Each cross-check flags the discrepancies planted in a small synthetic year, from the store,
and routing hears about them."""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from typer.testing import CliRunner

from tamis.assess import assessor_from_store
from tamis.cli import app
from tamis.detectors.base import ItemRows, StoreContext, by_declaration
from tamis.detectors.brands import BrandDetector
from tamis.detectors.crosscheck import ManifestDetector, PaymentDetector, TaxReturnDetector
from tamis.intel.resolve import resolve
from tamis.reasons import render, render_all
from tamis.store.read import read_items
from tamis.synth import generate
from tests.intel_store import loaded_store

col = pl.col


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("intel")
    engine, year = loaded_store(f"sqlite:///{folder / 'tamis.db'}", folder, 3000, 5)
    resolve(engine)
    yield engine, year, read_items(engine)
    engine.dispose()


@pytest.fixture
def cli(world, monkeypatch):
    engine, _, _ = world
    monkeypatch.setenv("TAMIS_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args))

    return run


def precision_recall(flagged: set, planted: set) -> tuple[float, float]:
    hits = len(flagged & planted)
    return hits / max(len(flagged), 1), hits / max(len(planted), 1)


def test_manifest_gaps_and_undeclared_bills(world):
    engine, year, items = world
    detector = ManifestDetector.from_store(engine, StoreContext(engine))
    found = detector.findings(items)
    for kind, key in (("weight", "declaration_id"), ("description", "declaration_id"),
                      ("undeclared", "bill_number")):  # fmt: skip
        planted = set(year.manifests.filter(col("discrepancy") == kind)[key])
        flagged = set(found.filter(col("kind") == kind)[key])
        assert len(planted) >= 5, kind
        assert precision_recall(flagged, planted) >= (0.9, 0.9), kind
    weight = year.manifests.filter(col("discrepancy") == "weight")["declaration_id"][0]
    signal = detector.assess(items.filter(col("declaration_id") == weight)).row(0, named=True)
    assert signal["score"] >= 0.8
    assert "kg gross, the declaration" in render(signal["reasons"][0])
    assert signal["revenue_at_stake"] > 0


def test_payments_reveal_under_invoicing_and_goods_never_declared(world):
    engine, year, items = world
    found = PaymentDetector.from_store(engine, StoreContext(engine)).findings(items)
    payments = year.payments
    planted = set(payments.filter(col("discrepancy") == "under_invoicing")["declaration_reference"])
    flagged = set(found.filter(col("kind") == "under_invoicing")["declaration_id"])
    assert len(planted) >= 20 and precision_recall(flagged, planted) >= (0.9, 0.9)
    planted = set(payments.filter(col("discrepancy") == "undeclared")["payment_id"])
    flagged = set(found.filter(col("kind") == "undeclared")["payment_id"])
    precision, recall = precision_recall(flagged, planted)
    assert len(planted) >= 10 and recall >= 0.9 and precision >= 0.75


def test_brand_goods_by_unauthorised_importers(world):
    engine, year, items = world
    detector = BrandDetector.from_store(engine, StoreContext(engine))
    key = ["declaration_id", "item_number"]
    found = detector.findings(items)
    planted = set(year.items.filter(col("fraud_type") == "counterfeit").select(key).iter_rows())
    precision, recall = precision_recall(set(found.select(key).iter_rows()), planted)
    assert len(planted) >= 10 and recall >= 0.85 and precision >= 0.75
    # a brand only named in the description is read from it
    described = found.filter(col("brand").is_null())
    said = render_all(described["reason"])
    assert described.height and all("not an importer authorised" in r for r in said)
    # an authorised distributor's own brand goods are never flagged
    nike = year.items.filter((col("importer_id") == "IMP000011") & (col("brand") == "Nike")).select(
        key
    )
    assert not set(nike.iter_rows()) & set(found.select(key).iter_rows())


def test_tax_returns_against_customs_values(world):
    engine, year, _ = world
    found = TaxReturnDetector.from_store(engine, StoreContext(engine)).findings()
    returns = year.tax_returns.with_columns(col("period_start").cast(pl.Datetime("us")))
    key = ["tax_number", "period_start"]
    for kind in ("purchases_above_customs", "imports_not_reported"):
        planted = set(returns.filter(col("discrepancy") == kind).select(key).iter_rows())
        flagged = set(found.filter(col("kind") == kind).select(key).iter_rows())
        assert len(planted) >= 5 and precision_recall(flagged, planted) >= (0.85, 0.9), kind


def test_routing_uses_the_cross_checks(world):
    engine, year, items = world
    assessor = assessor_from_store(engine)
    names = {d.name for d in assessor.detectors}
    assert {"manifest", "payments", "brands", "tax"} <= names
    weight = year.manifests.filter(col("discrepancy") == "weight")["declaration_id"][0]
    decided = assessor.assess(items.filter(col("declaration_id") == weight)).row(0, named=True)
    assert json.loads(decided["signals"])["manifest"]["score"] >= 0.8
    assert any("kg gross" in reason for reason in render_all(decided["reasons"]))


def test_cli_lists_findings_with_their_reasons(world, cli, tmp_path):
    _, year, _ = world
    listed = cli("intel", "findings", "tax", "--limit", "3")
    assert listed.exit_code == 0, listed.output
    assert "findings" in listed.output and "customs saw" in listed.output
    out = tmp_path / "bills.csv"
    assert cli("intel", "findings", "manifest", "--out", str(out)).exit_code == 0
    bills = pl.read_csv(out)
    undeclared = bills.filter(col("kind") == "undeclared")
    planted = year.manifests.filter(col("discrepancy") == "undeclared")
    assert set(undeclared["bill_number"]) == set(planted["bill_number"])
    assert undeclared["reason"].str.contains("never declared").all()
    wrong = cli("intel", "findings", "invoices")
    assert wrong.exit_code == 2 and "expected one of manifest" in wrong.output


def test_a_handful_of_declarations_is_enough_to_run_every_cross_check():
    year = generate(3, 1)
    as_resolved = {"manifests": "consignee_entity", "payments": "payer_entity",
                   "tax_returns": "company_entity"}  # fmt: skip
    frames = {
        s: getattr(year, s).with_columns(col(e).alias("importer_id"))
        for s, e in as_resolved.items()
    }
    detectors = [
        ManifestDetector(frames["manifests"]),
        PaymentDetector(frames["payments"]),
        TaxReturnDetector(frames["tax_returns"]),
        BrandDetector(year.trademarks),
    ]
    for detector in detectors:
        signals = detector.fit(year.items).assess(year.items)
        assert signals.height == 3, detector.name
        assert signals["score"].is_between(0, 1).all()


def one_declaration_history(**overrides) -> pl.DataFrame:
    """Declarations as read from the store, one item each: D1 of IMP1 from Acme at 100."""
    row = {"declaration_id": "D1", "importer_id": "IMP1", "customs_value": 100.0,
           "lodged_at": pl.datetime(2025, 3, 1), "supplier_name": "ACME INTERNATIONAL SARL",
           "duty_rate": 10.0, "vat_rate": 20.0, "duty_amount": 10.0, "gross_mass_kg": 50.0,
           "hs_code": "85171300", "description": "phones"} | overrides  # fmt: skip
    return pl.select(**{k: v if isinstance(v, pl.Expr) else pl.lit(v) for k, v in row.items()})


def payments_of(*rows: tuple) -> pl.DataFrame:
    """(payment_id, importer_id, day of March, amount, account, reference) -> payments."""
    frame = pl.DataFrame(
        rows,
        schema=["payment_id", "importer_id", "day", "amount_national", "beneficiary_account",
                "declaration_reference"],
        orient="row",
    )  # fmt: skip
    return frame.select(
        "payment_id",
        "importer_id",
        pl.date(2025, 3, col("day")).alias("value_date"),
        col("amount_national").cast(pl.Float64),
        pl.lit("Ste Acme International").alias("beneficiary_name"),  # spelt otherwise than invoiced
        pl.lit("CN").alias("beneficiary_country"),
        "beneficiary_account",
        col("declaration_reference").cast(pl.String),
        pl.lit("payer").alias("payer_name"),
    )


def undeclared_ids(detector: PaymentDetector, history: pl.DataFrame) -> set:
    found = detector.fit(history).findings(history)
    return set(found.filter(col("kind") == "undeclared")["payment_id"])


def test_an_instalment_without_reference_pays_the_under_invoiced_declaration_near_it():
    history = one_declaration_history()
    far_away = one_declaration_history(declaration_id="D2", lodged_at=pl.datetime(2025, 6, 1))
    history = pl.concat([history, far_away.with_columns(customs_value=pl.lit(1000.0))])
    payments = payments_of(
        ("P1", "IMP1", 2, 200.0, "ACC", "D1"),  # paid twice what D1 declares
        ("P2", "IMP1", 6, 150.0, "ACC", None),  # the balance, reference left out
        ("P3", "IMP1", 7, 150.0, "ELSEWHERE", None),  # the seller's name, another account
    )
    detector = PaymentDetector(payments)
    assert undeclared_ids(detector, history) == {"P3"}
    assert detector.settled_.filter(col("payment_id") == "P2")["declaration_id"][0] == "D1"
    under = detector.findings(history).filter(col("kind") == "under_invoicing")
    assert under["declaration_id"].to_list() == ["D1"] and "350 MAD" in render(under["reason"][0])
    # far from any declaration paid more than declared, the same payment pays none
    later = payments.with_columns(
        pl.when(col("payment_id") == "P2").then(pl.date(2025, 3, 28)).otherwise("value_date")
        .alias("value_date")
    )  # fmt: skip
    assert undeclared_ids(PaymentDetector(later), history) == {"P2", "P3"}


def test_a_company_paying_under_one_customs_id_for_goods_declared_under_another():
    later = one_declaration_history(declaration_id="D9", importer_id="IMP9",
                                    lodged_at=pl.datetime(2025, 6, 1))  # fmt: skip
    history = pl.concat([one_declaration_history(importer_id="IMP2"), later])
    payments = payments_of(("P1", "IMP1", 5, 100.0, "ACC", None))
    assert undeclared_ids(PaymentDetector(payments), history) == {"P1"}
    one_company = pl.DataFrame({"importer_id": ["IMP1", "IMP2"], "entity_id": ["IMP2", "IMP2"]})
    assert undeclared_ids(PaymentDetector(payments, entities=one_company), history) == set()


def bill(number: str, importer_id: str, goods: str, arrived: tuple) -> dict:
    """An overdue bill of lading that no declaration cleared."""
    return {"bill_number": number, "declaration_id": None, "importer_id": importer_id,
            "consignee_name": importer_id, "gross_mass_kg": 500.0, "goods_description": goods,
            "arrival_date": date(*arrived)}  # fmt: skip


def marked(detector: ManifestDetector, history: pl.DataFrame) -> dict[str, list[str]]:
    """The reasons of each declaration the detector marks, the same by batch and one by one."""
    batch = by_declaration(detector.fit(history).assess(history))
    for declaration_id, want in batch.items():
        one = history.filter(col("declaration_id") == declaration_id)
        got = detector.assess_rows(ItemRows(one.rows(named=True), one.schema))[declaration_id]
        assert (got["score"], got["reasons"]) == (want["score"], want["reasons"]), declaration_id
    return {d: render_all(s["reasons"]) for d, s in batch.items() if s["score"] > 0}


def test_a_bill_never_cleared_marks_its_consignees_declarations_of_its_goods_in_time():
    goods = {"bikes": ("87120000", "bicycles"), "phones": ("85171300", "mobile phones"),
             "shoes": ("64039900", "leather shoes")}  # fmt: skip
    lodged = [
        ("IN", "IMP1", "bikes", (2025, 3, 1)),  # within the window of B1 (10 Jan + 90 days)
        ("END", "IMP1", "bikes", (2025, 4, 10)),  # the window's last day
        ("OTHER", "IMP1", "phones", (2025, 3, 1)),
        ("EARLY", "IMP1", "bikes", (2025, 1, 5)),  # before the bill arrived
        ("LATE", "IMP1", "bikes", (2025, 4, 11)),
        ("ELSE", "IMP2", "bikes", (2025, 3, 1)),
        ("S1", "IMP2", "shoes", (2025, 2, 1)),
        ("S2", "IMP2", "shoes", (2025, 6, 1)),
        ("P2", "IMP2", "phones", (2025, 6, 1)),
    ]
    history = pl.concat(
        one_declaration_history(
            declaration_id=d,
            importer_id=i,
            hs_code=goods[g][0],
            description=goods[g][1],
            lodged_at=pl.datetime(*day),
        )
        for d, i, g, day in lodged
    )
    bikes = bill("B1", "IMP1", "bicycles", (2025, 1, 10))
    vague = bill("B2", "IMP1", "assorted goods", (2025, 1, 10))
    detector = ManifestDetector(pl.DataFrame([bikes, vague]))
    found = marked(detector, history)
    assert found.keys() == {"IN", "END"}
    assert found["IN"] == [
        "the importer is consignee of 1 bill(s) never declared for goods of heading 8712 (B1):"
        " goods may have left the port uncleared"
    ]
    assert marked(ManifestDetector(pl.DataFrame([vague])), history) == {}
    # every undeclared bill is still listed for the analyst
    undeclared = detector.findings(history).filter(col("kind") == "undeclared")
    assert sorted(undeclared["bill_number"]) == ["B1", "B2"]
