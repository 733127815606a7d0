"""Value control: robust reference prices, fallback, catch-all lines, under- and over-valuation
with readable reasons and revenue at stake; the store build, analyst references, CLI, API."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import polars as pl
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from tamis import audit
from tamis.assess import assess_file, assessor_from_store
from tamis.detectors.base import SIGNAL_SCHEMA, StoreContext
from tamis.detectors.valuation import ValuationDetector
from tamis.ingest import ingest
from tamis.reasons import render, render_all
from tamis.store.tables import inspection_outcomes
from tamis.valuation import database
from tamis.valuation.api import router
from tamis.valuation.cli import app
from tamis.valuation.reference import analyst_references, histogram, references
from tamis.valuation.tables import value_reference_uses

SHOES, PHONES, PLASTICS = "6403190000", "8517130000", "3926909000"  # PLASTICS: catch-all


def goods(
    hs: str,
    origin: str,
    n: int,
    median: float,
    sigma: float = 0.25,
    months: tuple[int, ...] = (1, 2, 3),
    seed: int = 0,
    prefix: str = "D",
) -> pl.DataFrame:
    """n one-item declarations with log-normal unit values per piece (0.9 kg a piece)."""
    rng = np.random.default_rng(seed)
    pieces = rng.integers(50, 500, n).astype(float)
    uv = median * np.exp(rng.normal(0, sigma, n))
    return pl.DataFrame(
        {
            "declaration_id": [f"{prefix}{hs[:4]}{origin}{seed}-{i}" for i in range(n)],
            "lodged_at": [datetime(2025, months[i % len(months)], 10 + i % 15) for i in range(n)],
            "office": "CASA-PORT",
            "importer_id": [f"IMP{i % 40:03d}" for i in range(n)],
            "item_number": 1,
            "hs_code": hs,
            "origin_country": origin,
            "quantity": pieces,
            "quantity_unit": "U",
            "net_mass_kg": pieces * 0.9,
            "customs_value": np.round(pieces * uv, 2),
            "duty_rate": 40.0,
            "vat_rate": 20.0,
        }
    )


def declared(hs: str, origin: str, uv: float, pieces: float = 100.0, did: str = "X1") -> dict:
    return {
        "declaration_id": did,
        "lodged_at": datetime(2025, 4, 2),
        "office": "CASA-PORT",
        "importer_id": "IMP999",
        "item_number": 1,
        "hs_code": hs,
        "origin_country": origin,
        "quantity": pieces,
        "quantity_unit": "U",
        "net_mass_kg": pieces * 0.9,
        "customs_value": round(pieces * uv, 2),
        "duty_rate": 40.0,
        "vat_rate": 20.0,
    }


def batch(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows))


@pytest.fixture(scope="module")
def history() -> pl.DataFrame:
    return pl.concat(
        [
            goods(SHOES, "CN", 400, 30.0),
            goods(SHOES, "VN", 8, 40.0, seed=1),  # too few for a reference of its own
            goods(PHONES, "CN", 300, 2000.0, sigma=0.2, seed=2),
            goods(PLASTICS, "CN", 300, 30.0, seed=3),
        ]
    )


@pytest.fixture(scope="module")
def detector(history) -> ValuationDetector:
    return ValuationDetector().fit(history)


def item(detector: ValuationDetector, row: dict) -> dict:
    return detector.assess_items(batch(row)).row(0, named=True)


# --- references ------------------------------------------------------------------------------


def test_reference_is_robust_to_planted_outliers_and_known_frauds():
    clean = goods(SHOES, "CN", 400, 30.0)
    under = goods(SHOES, "CN", 60, 30.0 / 6, seed=7, prefix="U")  # invoices divided by 6
    over = goods(SHOES, "CN", 10, 30.0 * 40, seed=8, prefix="O")
    known = goods(SHOES, "CN", 80, 30.0 / 4, seed=9, prefix="K").with_columns(known_fraud=True)
    frame = pl.concat([clean, under, over, known], how="diagonal")
    refs = references(histogram(frame))
    r = refs.filter(level="hs10/origin", basis="U").row(0, named=True)
    assert r["median_uv"] == pytest.approx(30.0, rel=0.06)
    assert r["q1_uv"] < 30.0 < r["q3_uv"]
    assert r["trimmed"] >= 60  # the planted outliers were set aside
    assert r["n"] == frame.height - known.height - r["trimmed"]  # known frauds never counted
    assert r["lower_spread_log"] == pytest.approx(0.25, abs=0.06)
    naive = frame.select((pl.col("customs_value") / pl.col("quantity")).mean()).item()
    assert abs(naive - 30.0) > 10  # what a plain mean would have said


def test_a_sparse_cell_falls_back_and_says_which_level(detector):
    r = item(detector, declared(SHOES, "VN", 4.0))  # 8 items from VN: below min_n
    assert r["ref_level"] == "hs10/all"
    assert "HS 6403.19.00.00 from all origins" in render(r["reason"])
    assert "level hs10/all" in render(r["reason"])
    unknown = item(detector, declared("6403200000", "CN", 4.0))  # a line never seen
    assert unknown["ref_level"] == "hs4/origin" and "HS 6403 from CN" in render(unknown["reason"])


def test_catch_all_lines_get_a_wider_tolerance_and_a_warning(detector):
    specific = item(detector, declared(SHOES, "CN", 12.0))
    catch_all = item(detector, declared(PLASTICS, "CN", 12.0))
    assert specific["ref_median_uv"] == pytest.approx(catch_all["ref_median_uv"], rel=0.1)
    assert catch_all["score"] < specific["score"]
    assert "catch-all ('other') line" in render(catch_all["reason"])
    assert "catch-all" not in render(specific["reason"])


def test_scoring_follows_the_skew_of_prices():
    # Most goods sell near 10; a branded minority far above: a long upper tail.
    rng = np.random.default_rng(4)
    base = goods(SHOES, "CN", 600, 10.0, sigma=0.12)
    premium = rng.random(600) < 0.25
    skewed = base.with_columns(
        pl.col("customs_value") * pl.Series(np.where(premium, rng.uniform(2, 6, 600), 1.0))
    )
    fitted = ValuationDetector().fit(skewed)
    median = fitted.references_.filter(level="hs10/origin", basis="U")["median_uv"].item()
    low = item(fitted, declared(SHOES, "CN", median / 2))
    high = item(fitted, declared(SHOES, "CN", median * 2))
    assert low["direction"] == "under" and low["score"] >= 0.5
    assert high["score"] == 0  # within the upper tail a plain z-score would flag


def test_a_small_sample_damps_the_score():
    small = ValuationDetector().fit(goods(SHOES, "CN", 25, 30.0, seed=5))
    large = ValuationDetector().fit(goods(SHOES, "CN", 1000, 30.0, seed=5))
    low = declared(SHOES, "CN", 30.0 / 2.5)
    assert 0 < item(small, low)["score"] < item(large, low)["score"]
    assert "Few comparable items (n=25)" in render(item(small, low)["reason"])


# --- the detector ----------------------------------------------------------------------------


def test_under_valuation_is_flagged_with_figures_and_revenue_at_stake(detector):
    rows = (declared(PHONES, "CN", 300.0, pieces=50, did="A"), declared(PHONES, "CN", 2000.0))
    signals = detector.assess(batch(*rows))
    assert signals.schema == pl.Schema(SIGNAL_SCHEMA)
    flagged = signals.filter(declaration_id="A").row(0, named=True)
    fine = signals.filter(declaration_id="X1").row(0, named=True)
    assert flagged["score"] >= 0.9 and fine["score"] == 0 and fine["reasons"] == []
    (reason,) = render_all(flagged["reasons"])
    assert reason.startswith("item 1: declared 300 MAD/U vs reference median ")
    for part in ("IQR ", "n=300", "HS 8517.13.00.00 from CN", "2025-01 to 2025-03"):
        assert part in reason
    assert "under-valuation" in reason
    assert "request evidence of the transaction value" in reason
    median = detector.references_.filter(level="hs10/origin", hs_code=PHONES, basis="U")
    gap = 50 * (median["median_uv"].item() - 300.0)
    burden = (1 + (0.025 + 0.0025)) * 1.20 - 1  # tariff.csv: 2.5 % duty, 0.25 % other, 20 % VAT
    assert flagged["revenue_at_stake"] == pytest.approx(gap * burden, rel=1e-6)


def test_over_valuation_is_flagged_without_revenue(detector):
    signals = detector.assess(batch(declared(PHONES, "CN", 20_000.0)))
    r = signals.row(0, named=True)
    assert r["score"] >= 0.9 and r["revenue_at_stake"] == 0
    assert "over-valuation" in render(r["reasons"][0]) and "money laundering" in render(
        r["reasons"][0]
    )


def test_the_detector_never_changes_declared_values(detector):
    frame = batch(declared(PHONES, "CN", 300.0), declared(SHOES, "CN", 1.0, did="B"))
    before = frame.clone()
    signals = detector.assess(frame)
    assert frame.equals(before)
    assert set(signals.columns) == set(SIGNAL_SCHEMA)  # no value to substitute is produced


def test_revenue_uses_the_items_rates_when_the_tariff_has_no_line(detector):
    row = declared("6403200000", "CN", 3.0) | {"duty_rate": 10.0, "vat_rate": 20.0}
    r = item(detector, row)
    assert r["duty_pct"] == 40.0  # heading 6403 of the tariff file
    unknown = ValuationDetector(tariff=pl.DataFrame(
        {"hs_prefix": ["0101"], "duty_pct": [0.0], "vat_pct": [0.0], "other_pct": [0.0]}
    )).fit(goods(SHOES, "CN", 100, 30.0))  # fmt: skip
    r = item(unknown, declared(SHOES, "CN", 3.0) | {"duty_rate": 10.0, "vat_rate": 20.0})
    assert (r["duty_pct"], r["vat_pct"]) == (10.0, 20.0)


# --- the store -------------------------------------------------------------------------------


def ingest_frame(engine, frame: pl.DataFrame, path) -> None:
    frame.write_csv(path)
    summary = ingest(path, "canonical", engine)
    assert summary.rejected == 0, summary.rejected_by_reason


def test_build_is_incremental_and_leaves_known_frauds_out(store, tmp_path):
    ingest_frame(store, goods(SHOES, "CN", 120, 30.0), tmp_path / "q1.csv")
    first = database.build(store)
    assert first.months_counted == [202501, 202502, 202503] and first.items_counted == 120
    assert database.build(store).months_counted == []  # nothing new: nothing recounted

    april = goods(SHOES, "CN", 30, 30.0, months=(4,), seed=1, prefix="A")
    ingest_frame(store, april, tmp_path / "apr.csv")
    second = database.build(store)
    assert second.months_counted == [202504] and second.window == "2025-01 to 2025-04"
    refs = database.current_references(store).filter(level="hs10/origin", basis="U")
    assert refs["n"].item() + refs["trimmed"].item() == 150

    # An inspection finds an April declaration under-valued: April is recounted without it.
    with store.begin() as conn:
        conn.execute(
            inspection_outcomes.insert().values(
                declaration_id=april["declaration_id"][0],
                inspected_at=datetime(2025, 5, 2),
                result="non_compliant",
                fraud_type="valuation",
                recorded_at=audit.now(),
            )
        )
    assert database.build(store).months_counted == [202504]
    refs = database.current_references(store).filter(level="hs10/origin", basis="U")
    assert refs["n"].item() + refs["trimmed"].item() == 149


def test_analyst_references_take_precedence_and_uses_are_logged(store, tmp_path):
    ingest_frame(store, goods(SHOES, "CN", 200, 30.0), tmp_path / "h.csv")
    database.build(store)
    prices = tmp_path / "prices.csv"
    prices.write_text("hs_code,origin,basis,median_uv,q1_uv,q3_uv\n6403.19,CN,U,60,50,70\n")
    assert database.load_analyst(store, str(prices), "price survey 2025-03") == 1

    detector = ValuationDetector.from_store(store, StoreContext(store))
    lodged = batch(declared(SHOES, "CN", 30.0))  # fine for history
    signals = detector.assess(lodged)
    (reason,) = render_all(signals["reasons"].item())
    assert "analyst reference, source: price survey 2025-03" in reason
    assert "reference median 60.00 MAD/U (IQR 50.00–70.00" in reason
    with store.connect() as conn:
        assert conn.execute(select(value_reference_uses)).all() == []  # assessing writes not
    with store.begin() as conn:
        detector.record(conn, lodged)
    with store.connect() as conn:
        uses = conn.execute(select(value_reference_uses)).mappings().all()
    assert len(uses) == 1 and uses[0]["declaration_id"] == "X1"
    assert uses[0]["declared_uv"] == pytest.approx(30.0) and uses[0]["direction"] == "under"


def test_the_detector_is_absent_from_an_empty_store(store):
    assert ValuationDetector.from_store(store, StoreContext(store)) is None


# --- CLI and API -----------------------------------------------------------------------------


@pytest.fixture
def built(store, store_url, tmp_path, monkeypatch):
    ingest_frame(store, goods(SHOES, "CN", 200, 30.0), tmp_path / "h.csv")
    database.build(store)
    monkeypatch.setenv("TAMIS_DATABASE_URL", store_url)
    return store


def test_cli_show_prints_the_reference_and_writes_a_chart(built, tmp_path):
    chart = tmp_path / "ref.png"
    args = ["show", "--hs", SHOES, "--origin", "CN", "--declared", "5", "--chart", str(chart)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "reference median" in result.output and "n=200" in result.output
    assert "request evidence of the transaction value" in result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    as_json = CliRunner().invoke(app, ["show", "--hs", "6403", "--origin", "VN", "--json"])
    report = json.loads(as_json.output)
    assert report["reference"]["level"] == "hs4/all"
    assert any("fell back to level hs4/all" in w for w in report["warnings"])
    missing = CliRunner().invoke(app, ["show", "--hs", "9999", "--origin", "CN"])
    assert missing.exit_code == 1


def test_cli_build_reports_levels(built):
    result = CliRunner().invoke(app, ["build", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["by_level"]["hs10/origin"] == 2  # per piece and per kg


def test_api_reference_200_404_422(built):
    api = FastAPI()
    api.include_router(router, prefix="/api")
    api.state.engine = built
    client = TestClient(api)
    ok = client.get("/api/valuation/reference", params={"hs": SHOES, "origin": "cn"})
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["reference"]["level"] == "hs10/origin" and body["reference"]["n"] == 200
    assert "never a minimum or substitute value" in body["guardrail"]
    scored = client.get(
        "/api/valuation/reference", params={"hs": SHOES, "origin": "CN", "declared": 5}
    ).json()
    assert scored["assessment"]["direction"] == "under" and scored["assessment"]["flagged"]
    bad = client.get("/api/valuation/reference", params={"hs": "64A", "origin": "CN"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "hs"]
    missing = client.get("/api/valuation/reference", params={"hs": "6403"})
    assert missing.status_code == 422 and missing.json()["detail"][0]["loc"] == ["query", "origin"]
    none = client.get("/api/valuation/reference", params={"hs": "9999", "origin": "CN"})
    assert none.status_code == 404
    png = client.get("/api/valuation/reference/chart.png", params={"hs": SHOES, "origin": "CN"})
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"


def test_analyst_reference_rejects_bad_rows():
    with pytest.raises(ValueError, match="hs_code of 4, 6, 8 or 10 digits"):
        analyst_references(
            pl.DataFrame({"hs_code": ["64A"], "basis": ["U"], "median_uv": [1.0]}),
            "x",
            datetime(2025, 1, 1),
        )


def test_a_recorded_assessment_logs_the_references_that_flagged_items(store, tmp_path):
    ingest_frame(store, goods(SHOES, "CN", 200, 30.0), tmp_path / "h.csv")
    database.build(store)
    lodged = tmp_path / "lodged.csv"
    batch(declared(SHOES, "CN", 3.0), declared(SHOES, "CN", 30.0, did="X2")).write_csv(lodged)
    assessor = assessor_from_store(store)
    assess_file(lodged, "canonical", assessor, tmp_path / "d.parquet", store)
    with store.connect() as conn:
        uses = conn.execute(select(value_reference_uses)).mappings().all()
    assert [u["declaration_id"] for u in uses] == ["X1"]  # the fine one used none worth logging
