"""Every registered detector through the same checks, on a store holding what each needs
(a small synthetic year, its other sources, value references, a model, a network, a
watchlist, transit movements, offences, trade documents, social-media sellers). A detector
is checked here by being in ``tamis.detectors.registry``."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import func, inspect, select, table

from tamis.assess import assess_file, assessor_from_store, store_context
from tamis.cases.watchlists import WatchlistIn
from tamis.cases.watchlists import create as create_watchlist
from tamis.detectors.base import SIGNAL_SCHEMA, Detector, ItemRows
from tamis.detectors.registry import DETECTORS, label
from tamis.documents.synthetic import synthetic_documents
from tamis.ingest.checks.few import check
from tamis.ingest.pipeline import declaration_batches
from tamis.ingest.profiles import load_profile
from tamis.inspections import record_outcomes, simulated_results
from tamis.intel import network
from tamis.intel.resolve import resolve
from tamis.learn.train import train_from_store
from tamis.offences.records import Identities, open_from_inspection
from tamis.reasons import parse, render
from tamis.route import load_routing
from tamis.social.evaluation import load as load_posts
from tamis.social.synthetic import write_posts
from tamis.store.read import read_outcomes
from tamis.transit import synthetic as transit_synthetic
from tamis.valuation import database as valuation
from tests.intel_store import loaded_store


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(engine, every detector built from the store, a batch of later declarations)."""
    folder = tmp_path_factory.mktemp("contract")
    engine, year = loaded_store(f"sqlite:///{folder / 'tamis.db'}", folder, 2500, 11)
    valuation.build(engine, min_n=5)
    create_watchlist(
        engine, WatchlistIn(name="shoes", reason="a crisis watch", hs_prefixes=["64"]), "test"
    )
    decided_path = folder / "decided.parquet"
    assess_file(folder / "year.parquet", "canonical", assessor_from_store(engine), decided_path)
    truth = year.items.select(
        "declaration_id", "lodged_at", "fraud", "fraud_type", "revenue_at_stake"
    )
    record_outcomes(engine, simulated_results(pl.read_parquet(decided_path), truth, truth))
    train_from_store(engine, comment="contract")
    resolve(engine)
    network.build(engine)
    known = Identities(engine)
    found = read_outcomes(engine).filter(pl.col("result") == "non_compliant")
    for declaration_id in found["declaration_id"].unique().sort().head(20):
        open_from_inspection(engine, declaration_id, "test", known)
    holders = year.items["importer_id"].unique().sort().to_list()[:40]
    moved, _ = transit_synthetic.messages(
        holders, 150, datetime(2025, 1, 1), 300, seed=3, fraud_rate=0.2, risky=set(holders[:8])
    )
    transit_synthetic.load(engine, moved, datetime(2026, 1, 1))
    documented = year.items["declaration_id"].unique(maintain_order=True).head(30).to_list()
    synthetic_documents(engine, documented, seed=7)  # one invoice falsified, one overdue
    with pytest.MonkeyPatch.context() as patch:  # case photos in this store's folder
        patch.setenv("TAMIS_ATTACHMENTS_DIR", str(folder / "attachments"))
        load_posts(engine, write_posts(year, folder / "posts", 11, 300))  # sellers, links
    context = store_context(engine, load_routing())
    detectors = {d.name: d.from_store(engine, context) for d in DETECTORS}
    profile = load_profile("canonical")
    frame, _ = next(declaration_batches(folder / "year.parquet", profile, "parquet", 10**6))
    batch = check(frame, profile).accepted
    chosen = batch["declaration_id"].unique(maintain_order=True)[:400].implode()
    later = batch.filter(pl.col("declaration_id").is_in(chosen))
    later = later.with_columns(pl.col("lodged_at") + timedelta(days=365))
    yield engine, detectors, later
    engine.dispose()


@pytest.fixture(params=[d.name for d in DETECTORS])
def detector(request, built) -> Detector:
    _, detectors, _ = built
    found = detectors[request.param]
    assert found is not None, f"{request.param} could not be built from a store holding all"
    return found


def test_signals_follow_the_schema_one_row_per_declaration(detector, built):
    _, _, batch = built
    signals = detector.assess(batch)
    assert signals.schema == pl.Schema(SIGNAL_SCHEMA)
    assert sorted(signals["declaration_id"]) == sorted(batch["declaration_id"].unique())
    scores = signals["score"]
    assert scores.null_count() == 0 and not scores.is_nan().any()
    assert scores.min() >= 0 and scores.max() <= 1


def test_every_reason_is_a_code_said_in_both_languages(detector, built):
    _, _, batch = built
    said = [r for reasons in detector.assess(batch)["reasons"] for r in reasons]
    for stored in said:
        found = parse(stored)
        assert found is not None, f"{detector.name}: free text, not a reason code: {stored}"
        english, french = render(stored, "en"), render(stored, "fr")
        assert english and french and "{" not in english + french, stored
        assert not english.startswith(found["code"] + ":"), f"no wording for {found['code']}"


def test_a_declaration_scores_the_same_alone_as_in_a_batch(detector, built):
    _, _, batch = built
    together = detector.assess(batch)
    riskiest = together.sort("score", descending=True)["declaration_id"].head(5).to_list()
    for declaration_id in riskiest + together["declaration_id"].tail(3).to_list():
        items = batch.filter(pl.col("declaration_id") == declaration_id)
        alone = detector.assess(items).row(0, named=True)
        plain = detector.assess_rows(ItemRows(items.rows(named=True), items.schema))
        expected = together.filter(pl.col("declaration_id") == declaration_id).row(0, named=True)
        for got in (alone, plain[declaration_id]):
            assert got["score"] == pytest.approx(expected["score"], abs=1e-9), declaration_id
            assert got["revenue_at_stake"] == pytest.approx(expected["revenue_at_stake"])


def test_an_empty_batch_gives_no_signal(detector, built):
    _, _, batch = built
    signals = detector.assess(batch.clear())
    assert signals.is_empty() and signals.schema == pl.Schema(SIGNAL_SCHEMA)


def test_parties_never_seen_are_assessed(detector, built):
    _, _, batch = built
    strangers = batch.with_columns(
        ("NEW-" + pl.col(c)).alias(c) for c in ("importer_id", "declarant_id", "supplier_id")
    )
    signals = detector.assess(strangers)
    assert signals.height == batch["declaration_id"].n_unique()
    assert signals["score"].is_between(0, 1).all()


def test_assessing_writes_nothing_to_the_store(detector, built):
    engine, _, batch = built
    before = _row_counts(engine)
    detector.assess(batch)
    detector.assess_rows(ItemRows(batch.head(3).rows(named=True), batch.schema))
    assert _row_counts(engine) == before


def test_a_detector_is_named_in_french_and_english(detector):
    assert label(detector.name, "fr") and label(detector.name, "en")
    assert set(type(detector).labels) == {"fr", "en"}
    assert type(detector).needs


def _row_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        names = inspect(conn).get_table_names()
        return {n: conn.execute(select(func.count()).select_from(table(n))).scalar() for n in names}


def test_what_the_plain_path_reads_is_built_once_and_kept(detector):
    built = detector.plain()
    assert detector.plain() is built  # a server builds it before its first lodgement
