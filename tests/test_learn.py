"""Learning from outcomes: no leakage, evaluate, registry, the model detector, drift, CLI."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

import lightgbm as lgb
import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from tamis import synth
from tamis.assess import assessor_from_store
from tamis.detectors.anomaly import AnomalyDetector
from tamis.detectors.base import ItemRows, StoreContext
from tamis.detectors.model import ModelDetector
from tamis.ingest import ingest
from tamis.learn import compiled, registry, treeshap
from tamis.learn import features as F
from tamis.learn.asof import AsOfSums, column_hashes, value_hashes
from tamis.learn.cli import app
from tamis.learn.data import read_labelled_store
from tamis.learn.drift import THRESHOLD, drift_report, psi
from tamis.learn.evaluate import evaluate
from tamis.learn.metrics import KS, targeting_metrics
from tamis.learn.model import (
    N_ROUNDS,
    PARAMS,
    FraudModel,
    _matrix,
    ensemble_size,
    reasons,
    severity_weights,
)
from tamis.learn.ranking import RANKINGS, batch_priority
from tamis.learn.train import store_drift, train_from_store
from tamis.learn.uplift import uplift
from tamis.offences.records import Identities, open_from_inspection
from tamis.reasons import parse, reason, render, render_all
from tamis.route import Exploration, ModelRanking, RoutingConfig
from tamis.store.read import read_items, read_outcomes
from tests.stores import assessed_store, kcs_rows

METRIC_KEYS = {f"{m}@{k}" for m in ("precision", "recall", "revenue") for k in KS}


@pytest.fixture(scope="module")
def planted() -> tuple[pl.DataFrame, pl.DataFrame]:
    items = synth.generate(3000, 7).items.with_columns(
        pl.col("fraud").cast(pl.Int8), pl.col("revenue_at_stake").cast(pl.Float64).alias("revenue")
    )
    cut = items["lodged_at"].sort()[int(items.height * 0.7)]
    return items.filter(pl.col("lodged_at") < cut), items.filter(pl.col("lodged_at") >= cut)


def test_a_feature_never_uses_its_own_or_a_later_label():
    frame = F.prepare(
        kcs_rows(300, 1, date(2020, 1, 1), days=30)
        .rename({"Importer ID": "importer_id", "Declaration ID": "declaration_id"})
        .select(
            "declaration_id",
            pl.col("Date").str.to_datetime().alias("lodged_at"),
            "importer_id",
            pl.col("HS6 Code").alias("hs_code"),
            pl.col("Item Price").alias("customs_value"),
            pl.col("Net Mass").alias("net_mass_kg"),
            pl.col("Tax Rate").alias("duty_rate"),
            pl.col("Fraud").cast(pl.Int8).alias("fraud"),
        )
    )
    row = 150
    day = frame["day"][row]
    flipped = frame.with_columns(
        pl.when(pl.col("day") >= day).then(1 - pl.col("fraud")).otherwise("fraud").alias("fraud")
    )
    columns = F.feature_columns(F.build_features(frame, frame))

    def features_of_row(history: pl.DataFrame) -> pl.DataFrame:
        return F.build_features(history, frame).select(columns).slice(row, 1)

    before = features_of_row(frame)
    assert features_of_row(flipped).equals(before)  # own and later labels changed: no effect
    earlier = frame.with_columns(
        pl.when(pl.col("day") < day).then(1 - pl.col("fraud")).otherwise("fraud").alias("fraud")
    )
    assert not features_of_row(earlier).equals(before)

    def training_row(labelled: pl.DataFrame) -> pl.DataFrame:
        return F.training_features(labelled)[1].slice(row, 1).select(columns)

    assert training_row(flipped).equals(training_row(frame))  # training rows: as of lodgement
    assert training_row(frame).equals(before)  # a training row knows what a scored row knows


def test_a_large_batch_looked_up_in_threads_gets_the_same_features(planted, monkeypatch):
    history, batch = (F.prepare(part) for part in planted)
    alone = F.build_features(history, batch)
    monkeypatch.setattr(F, "THREADS_FROM", 0)
    assert F.build_features(history, batch).equals(alone)


def test_as_of_sums_count_only_earlier_days_of_the_same_key():
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 20, 2000).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    days = np.sort(rng.integers(0, 60, 2000))
    values = np.column_stack([rng.random(2000) < 0.3, np.ones(2000)]).astype(float)
    table = AsOfSums(keys, days, values)
    query_keys = np.r_[keys[:300], np.uint64(12345)]  # the last key was never seen
    query_days = np.r_[rng.integers(-5, 70, 300), 30]
    expected = [
        values[(keys == k) & (days < d)].sum(axis=0)
        for k, d in zip(query_keys, query_days, strict=True)
    ]
    assert np.array_equal(table.lookup(query_keys, query_days), np.array(expected).T)
    everything = [values[keys == k].sum(axis=0) for k in query_keys]  # queries after it all
    assert np.array_equal(table.lookup(query_keys, np.full(301, 60)), np.array(everything).T)
    assert table.lookup(query_keys[:0], query_days[:0]).shape == (2, 0)
    with pytest.raises(ValueError, match="lodgement-day order"):
        AsOfSums(keys, days[::-1], values)


def test_as_of_sums_never_count_a_later_day_when_every_query_comes_after_some_key():
    # the largest key was last seen on day 1, another key is seen again on day 9: queries
    # of day 5 must not count the other key's day 9
    keys = np.array([7, 900, 7, 7], np.uint64)
    table = AsOfSums(keys, np.array([0, 1, 5, 9]), np.ones((4, 1)))
    assert table.lookup(np.array([7, 7, 900], np.uint64), np.array([5, 6, 5])).tolist() == [
        [1.0, 2.0, 1.0]
    ]


def test_totals_of_earlier_months_give_each_month_the_features_of_the_whole_history(planted):
    whole = F.prepare(pl.concat(planted))
    expected = F.training_features(whole)[1]
    months = whole.with_columns(month=pl.col("day").dt.truncate("1mo"))
    opening, parts = None, []
    for _, month in sorted(months.group_by("month"), key=lambda group: group[0]):
        parts.append(F.History(month, opening).features(month))
        own = F.History(month).totals()
        opening = own if opening is None else opening + own
    assert len(parts) > 3
    got, key = pl.concat(parts), ["declaration_id", "item_number"]
    for column in set(F.feature_columns(expected)) - set(F.LOW_CARD):
        want, have = expected.sort(key)[column], got.sort(key)[column]
        assert np.allclose(want.to_numpy().astype(float), have.to_numpy().astype(float),
                           equal_nan=True), column  # fmt: skip
    whole_totals = F.History(whole).totals()
    assert np.array_equal(opening.overall, whole_totals.overall)
    assert np.array_equal(opening.tables["importer_id"][0], whole_totals.tables["importer_id"][0])


def test_evaluate_reports_every_metric_and_beats_a_random_ranking(planted):
    train, test = planted
    result = evaluate(train, test).as_json()
    assert METRIC_KEYS <= result.keys() and METRIC_KEYS <= result["baseline"].keys()
    fraud_rate = test["fraud"].mean()
    assert result["precision@5"] > 3 * fraud_rate
    assert result["recall@10"] > 0.3  # random: 0.10


@pytest.fixture(scope="module")
def fitted(planted) -> tuple[FraudModel, pl.DataFrame]:
    """The model fitted on the planted data's earlier part, with its later part's features."""
    train, test = planted
    model = FraudModel.fit(train)
    return model, model.features(test)


def test_the_revenue_model_learns_what_a_fraud_brings_beyond_the_duty_at_stake(planted, fitted):
    model, feats = fitted
    frauds = (feats["fraud"] == 1).to_numpy()
    _, money = model.predict(feats)
    actual = np.log1p(feats["revenue"].to_numpy()[frauds])
    by_model = np.abs(np.log1p(money[frauds]) - actual).mean()
    by_duty = np.abs(np.log1p(feats["duty"].to_numpy()[frauds]) - actual).mean()
    assert by_model < 0.5 * by_duty  # planted frauds hide far more than the declared duty


def test_ranking_by_expected_revenue_catches_more_revenue_and_balanced_sits_between(fitted):
    model, feats = fitted
    p, money = model.predict(feats)
    fraud, revenue = feats["fraud"].to_numpy(), feats["revenue"].to_numpy()
    at = {r: targeting_metrics(batch_priority(p, money, r), fraud, revenue) for r in RANKINGS}
    by_p, by_money, both = (at[r] for r in ("probability", "expected_revenue", "balanced"))
    assert by_money["revenue@2"] > by_p["revenue@2"] + 0.1  # 2 %: a physical-control share
    at_stake = targeting_metrics(p * feats["duty"].to_numpy(), fraud, revenue)
    assert by_money["revenue@2"] > at_stake["revenue@2"]  # the revenue model adds to duty
    assert by_p["precision@2"] >= both["precision@2"] >= by_money["precision@2"]
    assert both["revenue@2"] > by_p["revenue@2"]


def test_a_large_batch_is_scored_by_compiled_trees_as_lightgbm_scores_it(fitted, monkeypatch):
    model, feats = fitted
    x = _matrix(feats, model.columns, model.categories)
    x[:20] = np.nan  # unknown values take the trees' default directions
    x[20:40] = 0.0
    p, money = (b.predict(x, num_threads=2) for b in (model.booster, model.revenue))
    assert np.isnan(x).any() and 0 < p.min() < p.max() < 1
    monkeypatch.setattr(compiled, "COMPILE_FROM", 0)
    monkeypatch.setattr(compiled, "CHUNK", 100)  # several chunks, the last one shorter
    assert np.allclose(compiled.predict(model.booster, x, 2), p, rtol=1e-12, atol=0)
    assert np.allclose(compiled.predict(model.revenue, x, 2), money, rtol=1e-12, atol=0)
    by_lightgbm = model.predict(feats)
    assert compiled._compiled.get(model.booster) is not None  # the compiled trees were used
    monkeypatch.setattr(compiled, "COMPILE_FROM", 10**9)
    for ours, theirs in zip(by_lightgbm, model.predict(feats), strict=True):
        assert np.allclose(ours, theirs, rtol=1e-12, atol=0)


def test_a_large_batch_is_explained_from_shap_tables_as_lightgbm_explains_it(fitted, monkeypatch):
    model, feats = fitted
    monkeypatch.setattr(treeshap, "_tables", treeshap.weakref.WeakKeyDictionary())
    monkeypatch.setattr(treeshap, "TABLES_FROM", 10**9)
    by_lightgbm, one_by_lightgbm = reasons(model, feats), reasons(model, feats.head(1))
    monkeypatch.setattr(treeshap, "TABLES_FROM", 0)
    assert reasons(model, feats) == by_lightgbm
    assert treeshap.built(model.booster)  # the tables were used
    assert sum(map(len, by_lightgbm)) > len(feats)  # most rows have reasons
    monkeypatch.setattr(treeshap, "TABLES_FROM", 10**9)
    assert reasons(model, feats.head(1)) == one_by_lightgbm  # once built, even for one row


def test_compiled_trees_are_kept_on_disk_for_the_next_process(fitted, monkeypatch, tmp_path):
    model, feats = fitted
    x = _matrix(feats, model.columns, model.categories)
    monkeypatch.setenv("TAMIS_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(compiled, "COMPILE_FROM", 0)
    monkeypatch.setattr(compiled, "_compiled", compiled.weakref.WeakKeyDictionary())
    first = compiled.predict(model.booster, x, 2)
    (kept,) = (tmp_path / "compiled").iterdir()  # whole: no part left beside it
    written = kept.stat().st_mtime_ns
    monkeypatch.setattr(
        compiled, "_compiled", compiled.weakref.WeakKeyDictionary()
    )  # a new process
    assert np.array_equal(compiled.predict(model.booster, x, 2), first)
    assert kept.stat().st_mtime_ns == written  # loaded, not compiled again
    assert kept.suffix == ".o" and kept.stat().st_size > 0


def test_a_model_reads_back_from_its_text_with_its_revenue_model(fitted):
    model, feats = fitted
    copy = FraudModel.from_text(model.to_text(), model.categories, model.params)
    assert copy.revenue is not None
    for ours, theirs in zip(model.predict(feats), copy.predict(feats), strict=True):
        assert np.allclose(ours, theirs)
    only_p = FraudModel.from_text(model.booster.model_to_string(), model.categories, {})
    assert np.allclose(only_p.predict(feats)[1], feats["duty"].to_numpy())  # an older model


def test_few_training_rows_make_p_fraud_the_mean_log_odds_of_boosters_of_other_seeds(
    planted, fitted
):
    model, feats = fitted
    size = model.params["ensemble"]
    assert size == ensemble_size(planted[0].height) > 1 and ensemble_size(1_000_000) == 1
    train = F.training_features(F.prepare(planted[0]))[1]
    data = lgb.Dataset(_matrix(train, model.columns, model.categories), train["fraud"].to_numpy())
    alone = [lgb.train(PARAMS | {"seed": 1000 * i}, data, N_ROUNDS) for i in range(size)]
    x = _matrix(feats, model.columns, model.categories)
    log_odds = [b.predict(x, raw_score=True) for b in alone]
    mean = np.mean(log_odds, axis=0)
    assert np.allclose(model.booster.predict(x, raw_score=True), mean, rtol=0, atol=1e-9)
    assert np.abs(log_odds[0] - mean).max() > 0.01  # the seeds do give other boosters
    assert np.allclose(model.contributions(feats).sum(axis=1), mean, rtol=0, atol=1e-9)


def test_model_detector_scores_declarations_with_readable_reasons(planted):
    train, test = planted
    signals = ModelDetector().fit(train).assess(test.drop("fraud", "revenue"))
    assert signals["declaration_id"].n_unique() == test["declaration_id"].n_unique()
    assert signals["score"].is_between(0, 1).all()
    top = signals.sort("score", descending=True).row(0, named=True)
    assert top["revenue_at_stake"] >= 0
    said = render_all(top["reasons"])
    assert any(re.search(r"P\(fraud\) [01]\.\d\d$", r) for r in said)
    assert any("past" in r and r.rsplit(": ", 1)[-1].startswith("+") for r in said)
    french = render_all(top["reasons"], "fr")
    assert any(re.search(r"P\(fraude\) [01],\d\d$", r) for r in french)


def test_a_few_values_hash_as_their_columns_do():
    frame = pl.DataFrame(
        {"s": ["a", None, "a", "é"], "i": [1, None, 3, 1], "f": [0.5, None, float("nan"), 2.0]},
        schema={"s": pl.String, "i": pl.Int32, "f": pl.Float64},
    )
    expected = column_hashes(frame, frame.columns)
    for _ in range(2):  # hashed, then known
        found = value_hashes({c: frame[c].to_list() for c in frame.columns}, frame.schema)
        for column in frame.columns:
            assert np.array_equal(found[column], expected[column])
    assert expected["s"][0] == expected["s"][2] != expected["s"][1]


def test_a_few_items_are_prepared_in_plain_python_as_the_query_prepares_them():
    items = synth.generate(400, seed=3).items.drop("fraud", "revenue_at_stake")
    edges = items.head(6).with_columns(  # unknown values, zeros, a short HS code
        pl.Series("customs_value", [None, 0, 1, None, 5, 7], pl.Decimal(18, 2)),
        pl.Series("net_mass_kg", [0.0, None, 0.0004, None, 1e-9, 3.0]),
        pl.Series("duty_rate", [None, 0.0, 12.5, 40.0, None, 2.5]),
        pl.Series("hs_code", [None, "8471", "85", "870323", "6403", None]),
        pl.Series("importer_id", [None, None, "X", "Y", None, "Z"]),
    )
    for frame in (pl.concat([items, edges]), items.drop("courier_id", "supplier_id")):
        expected = F.prepare(frame).with_columns(*F.OWN_FIELDS).to_dicts()
        assert F.prepared_rows(frame.rows(named=True), frame.schema) == expected
    negative = edges.with_columns(pl.lit(-1.0).alias("net_mass_kg"))
    assert F.prepared_rows(negative.rows(named=True), negative.schema) is None  # to the query


@pytest.mark.parametrize("rank_by", ["probability", "balanced"])
def test_a_lodged_declaration_gets_the_signal_of_the_columnar_path(planted, fitted, rank_by):
    """The model's plain path (one query, then NumPy) against its columnar one, declaration
    by declaration: scores, revenue, every reason's figures (SHAP ones included)."""
    train, test = planted
    detector = ModelDetector(fitted[0], rank_by=rank_by).fit(train)
    batch = test.drop("fraud", "revenue").with_columns(  # parties never seen, too
        pl.when(pl.col("declaration_id").str.ends_with("7")).then(pl.lit("NEW-IMPORTER"))
        .otherwise(pl.col("importer_id")).alias("importer_id")
    )  # fmt: skip
    for items in batch.partition_by("declaration_id", maintain_order=True)[:150]:
        expected = detector.assess(items).row(0, named=True)
        (got,) = detector.assess_rows(ItemRows(items.rows(named=True), items.schema)).values()
        assert got["score"] == pytest.approx(expected["score"], abs=1e-12)
        assert got["revenue_at_stake"] == pytest.approx(expected["revenue_at_stake"], rel=1e-9)
        assert list(map(parse, got["reasons"])) == list(map(parse, expected["reasons"]))
        assert got["forced_channel"] == expected["forced_channel"] is None


def test_a_lodged_declaration_is_explored_as_in_a_batch(planted, fitted):
    train, test = planted
    explore = Exploration(novelty=1.0, uncertainty=0.0, channel="orange")
    detector = ModelDetector(fitted[0], explore=explore).fit(train)
    for items in test.drop("fraud", "revenue").partition_by("declaration_id")[:100]:
        expected = detector.assess(items).row(0, named=True)
        (got,) = detector.assess_rows(ItemRows(items.rows(named=True), items.schema)).values()
        assert got["forced_channel"] == expected["forced_channel"]
        picks = [[{k: v for k, v in parse(r).items() if k != "draw"} for r in s["reasons"]
                  if r.startswith('{"code":"model.explore')] for s in (got, expected)]  # fmt: skip
        assert picks[0] == picks[1]


def test_model_detector_ranks_by_expected_revenue_when_configured(planted, fitted):
    train, test = planted
    batch = test.drop("fraud", "revenue")
    signals = ModelDetector(fitted[0], rank_by="expected_revenue").fit(train).assess(batch)
    alone = batch.group_by("declaration_id").len().filter(pl.col("len") == 1)
    ranked = signals.join(alone, on="declaration_id").sort("revenue_at_stake")
    assert ranked.height > 100 and ranked["score"].is_between(0, 1).all()
    assert ranked["score"].is_sorted()  # the score orders by P(fraud) × revenue
    by_p = ModelDetector(fitted[0]).fit(train).assess(batch).join(alone, on="declaration_id")
    assert not by_p.sort("revenue_at_stake")["score"].is_sorted()


def test_model_detector_explains_only_its_riskiest_items(planted):
    train, test = planted
    batch = test.drop("fraud", "revenue")
    signals = ModelDetector(explain_share=0.05).fit(train).assess(batch)
    reasons = signals.explode("reasons").drop_nulls("reasons")
    shap = reasons.filter(~pl.col("reasons").str.contains("model.probability"))
    explained = shap["declaration_id"].unique()
    assert 0 < explained.len() <= np.ceil(batch.height * 0.05)
    riskiest = signals.filter(pl.col("declaration_id").is_in(explained.implode()))
    others = signals.filter(~pl.col("declaration_id").is_in(explained.implode()))
    assert riskiest["score"].min() >= max(others["score"].max(), 0.35)
    items = others.join(batch.group_by("declaration_id").len(), on="declaration_id")
    assert (items["reasons"].list.len() == items["len"]).all()  # a probability per item, no more


def test_model_detector_explores_the_novel_and_the_uncertain_and_says_why(planted, fitted):
    train, test = planted
    batch = test.drop("fraud", "revenue")

    def explored(**explore) -> pl.DataFrame:
        detector = ModelDetector(fitted[0], explore=Exploration(**explore)).fit(train)
        return detector.assess(batch).with_columns(
            pl.col("reasons").list.eval(pl.element().filter(pl.element().str.starts_with(
                '{"code":"model.explore'))).list.first()
            .map_elements(render, return_dtype=pl.String).alias("why")
        )  # fmt: skip

    nothing = explored(novelty=0.0, uncertainty=0.0)
    assert nothing["forced_channel"].is_null().all() and nothing["why"].is_null().all()

    seen = {c: set(train[c]) for c in ("importer_id", "supplier_id")}
    pairs = set(zip(train["importer_id"], train["hs_code"].str.slice(0, 6), strict=True))
    novel = {
        row["declaration_id"]
        for row in batch.iter_rows(named=True)
        if row["importer_id"] not in seen["importer_id"]
        or row["supplier_id"] not in seen["supplier_id"]
        or (row["importer_id"], row["hs_code"][:6]) not in pairs
    }
    every_novel = explored(novelty=1.0, uncertainty=0.0, channel="orange")
    picked = every_novel.filter(pl.col("forced_channel").is_not_null())
    assert 0 < len(novel) < batch["declaration_id"].n_unique()
    assert set(picked["declaration_id"]) == novel
    assert set(picked["forced_channel"]) == {"orange"}
    assert picked["why"].str.contains(r"^exploration, novelty \(.+ never inspected.*\): "
                                      r"draw [01]\.\d{4} under chance 1$").all()  # fmt: skip

    uncertain = explored(novelty=0.0, uncertainty=1.0).filter(pl.col("why").is_not_null())
    said = (
        uncertain["why"]
        .str.extract_groups(
            r"P\(fraud\) (?<p>[\d.]+)\): draw (?<draw>[\d.]+) under chance (?<chance>[\d.]+)"
        )
        .struct.unnest()
        .cast(pl.Float64)
    )
    assert uncertain.height > 0 and (said["draw"] < said["chance"]).all()
    assert np.allclose(said["chance"], 4 * said["p"] * (1 - said["p"]), atol=0.021)  # p: 2 digits
    p = fitted[0].predict(fitted[0].features(batch))[0]
    declarations = batch.select("declaration_id").with_columns(pl.Series("c", 4 * p * (1 - p)))
    c = declarations.group_by("declaration_id").agg(pl.col("c").max())["c"].to_numpy()
    expected, spread = c.sum(), np.sqrt((c * (1 - c)).sum())  # picks: a sum of Bernoullis
    assert abs(uncertain.height - expected) < 5 * spread + 1


def test_registry_train_promote_rollback_and_detector_from_store(store, tmp_path):
    assert ModelDetector.from_store(store, StoreContext(store)) is None
    path = tmp_path / "kcs.csv"
    kcs_rows(600, 3, date(2020, 1, 1)).write_csv(path)
    ingest(path, "kcs", store)
    first, metrics = train_from_store(store, comment="first")
    second, _ = train_from_store(store)
    assert (first, second) == (1, 2) and METRIC_KEYS <= metrics.keys()
    listed = {m["version"]: m for m in registry.list_models(store)}
    assert listed[1]["active"] and not listed[2]["active"]  # a new model waits for promotion
    assert listed[1]["fingerprint"] == listed[2]["fingerprint"] and listed[1]["rows"] == 600
    registry.promote(store, 2)
    assert registry.active(store)[0] == 2
    assert registry.active(store)[1].revenue is None  # no revenue recorded: the duty at stake
    assert registry.rollback(store) == 1 and registry.active(store)[0] == 1
    with pytest.raises(registry.RegistryError, match="version 9: no such model"):
        registry.promote(store, 9)
    detector = ModelDetector.from_store(store, StoreContext(store))
    assert detector is not None and detector.version == 1 and detector.rank_by == "probability"
    routing = RoutingConfig(model=ModelRanking(rank_by="balanced"))
    configured = assessor_from_store(store, routing).detectors
    assert [d.rank_by for d in configured if isinstance(d, ModelDetector)] == ["balanced"]
    signals = detector.assess(read_items(store).tail(5))
    assert signals.height == 5 and signals["reasons"].list.len().min() >= 1
    explore = Exploration(novelty=1.0, uncertainty=0.0, channel="orange")
    routing = RoutingConfig(model=ModelRanking(explore=explore), random={"rate": 0.0})
    newcomer = (
        read_items(store)
        .tail(2)
        .with_columns(pl.col("declaration_id") + "-new", pl.lit("NEWCOMER").alias("importer_id"))
    )
    decided = assessor_from_store(store, routing).assess(newcomer)
    assert set(decided["channel"]) <= {"orange", "red"}
    for why in decided["reasons"]:
        said = render_all(why)
        assert any(r.startswith("exploration, novelty (importer never inspected)") for r in said)
    assert {"score", "log_value", "te_importer_id"} <= store_drift(store, weeks=2).keys()


def test_training_on_a_period_with_nothing_lodged_says_so(store, tmp_path):
    kcs_rows(300, 3, date(2020, 1, 1)).write_csv(tmp_path / "kcs.csv")
    ingest(tmp_path / "kcs.csv", "kcs", store)
    assert read_items(store, since=datetime(2031, 1, 1)).schema == read_items(store).schema
    assert read_outcomes(store, since=datetime(2031, 1, 1)).schema == read_outcomes(store).schema
    since, until = datetime(2020, 1, 20), datetime(2020, 2, 10)
    lodged = pl.col("lodged_at").is_between(since, until, closed="left")
    assert read_labelled_store(store, since, until).equals(
        read_labelled_store(store).filter(lodged)
    )
    assert read_outcomes(store, since, until).height == read_items(store, since, until).height
    with pytest.raises(ValueError, match="0 inspected item"):
        train_from_store(store, since=datetime(2031, 1, 1))


def test_frauds_that_led_to_an_offence_weigh_its_severity_in_training(store, tmp_path):
    assessed_store(store, tmp_path, declarations=1500)
    found = read_outcomes(store).filter(pl.col("result") == "non_compliant")
    first, *others = found["declaration_id"].unique().sort().to_list()[:4]
    known = Identities(store)
    opened = [open_from_inspection(store, first, "karim", known, class_code="D1")]
    opened += [open_from_inspection(store, d, "karim", known) for d in others]
    labelled = read_labelled_store(store)
    graver = {o["declaration_ids"][0]: o["severity"] for o in opened}
    assert graver[first] == 4 and all(s < 4 for d, s in graver.items() if d != first)
    severity = dict(labelled.select("declaration_id", "severity").unique().iter_rows())
    assert {d: severity[d] for d in graver} == graver
    assert {s for d, s in severity.items() if d not in graver} == {1}
    weights = severity_weights(labelled)
    frauds = labelled["fraud"].to_numpy() == 1
    assert weights is not None and set(weights[~frauds]) == {1.0} and max(weights) == 4
    model = FraudModel.fit(labelled)
    p = model.predict_proba(model.features(labelled))
    assert np.isfinite(p).all() and ((p > 0) & (p < 1)).all()


def test_drift_is_near_zero_on_the_same_data_and_flags_a_shift():
    rng = np.random.default_rng(0)
    values = rng.normal(size=5000)
    assert psi(values, values) < 0.01
    assert psi(values, rng.normal(size=5000)) < 0.05
    assert psi(values, values + 1.0) > THRESHOLD
    report = drift_report(pl.DataFrame({"score": values}), pl.DataFrame({"score": values * 3}))
    assert report["score"] > THRESHOLD


def test_cli_evaluate_prints_one_json_object_and_a_chart(tmp_path: Path):
    train, test = tmp_path / "train.csv", tmp_path / "test.csv"
    rows = kcs_rows(900, 5, date(2020, 1, 1), days=90)
    rows.filter(pl.col("Date") < "2020-03-01").write_csv(train)
    later = rows.filter(pl.col("Date") >= "2020-03-01").with_row_index()
    # row index: source column, bad value, the canonical field the refusal names
    broken = {3: ("Date", "2020-13-45", "lodged_at"), 7: ("HS6 Code", "12AB", "hs_code")}
    later = later.with_columns(
        pl.when(pl.col("index") == i).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
        for i, (column, value, _) in broken.items()
    )
    later.drop("index").write_csv(test)
    with test.open("a") as handle:
        handle.write("a,line,with,too,few,columns\n")
    chart = tmp_path / "chart.png"
    args = ["evaluate", "--profile", "kcs", "--train", str(train), "--test", str(test)]
    result = CliRunner().invoke(app, [*args, "--json", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    records = report["test_records"]  # every record read is counted: none is silently lost
    assert records["received"] == later.height + 1 == records["labelled"] + records["rejected"]
    assert records["rejected"] == 3 and report["test_rows"] == later.height - 2
    assert report["train_records"]["rejected"] == 0
    assert "refused and left out" in result.stderr
    for i, (_, value, field) in broken.items():
        record = later["Declaration ID"][i]
        assert re.search(rf"{record} .*{field} '{value}'", result.stderr), result.stderr
    assert METRIC_KEYS <= report.keys() and METRIC_KEYS <= report["baseline"].keys()
    assert chart.read_bytes()[:4] == b"\x89PNG"
    assert report["precision@10"] > 0.6  # a planted, easy signal; frauds are ~30 %
    missing = CliRunner().invoke(app, ["evaluate", "--train", "nope.csv", "--test", str(test)])
    assert missing.exit_code == 1 and "nope.csv: no such file" in missing.output
    unknown = CliRunner().invoke(app, [*args, "--rank-by", "luck"])
    assert unknown.exit_code == 1 and "one of probability, expected_revenue" in unknown.output


def test_anomaly_detector_puts_an_absurd_unit_value_first(planted):
    train, test = planted
    odd = test.head(1).with_columns(
        pl.lit("ODD-1").alias("declaration_id"),
        (pl.col("customs_value").cast(pl.Float64) * 1000).alias("customs_value"),
    )
    batch = pl.concat([test.head(200), odd], how="vertical_relaxed")
    signals = AnomalyDetector().fit(train).assess(batch)
    top = signals.sort("score", descending=True).row(0, named=True)
    assert top["declaration_id"] == "ODD-1" and 0 < top["score"] <= 1
    assert any("× the HS6 median" in r or "customs value" in r for r in render_all(top["reasons"]))
    ordinary = signals.filter(pl.col("declaration_id") != "ODD-1")
    assert (ordinary["score"] == 0).mean() > 0.9  # ordinary goods raise no signal
    assert ordinary.filter(pl.col("score") == 0)["reasons"].list.len().max() == 0


def test_uplift_compares_each_detector_with_the_random_control_group():
    def signal(score: float) -> dict:
        return {"score": score, "forced_channel": None}

    written = {"score": 0.1, "forced_channel": "red",  # as said before reason codes
               "reasons": ["exploration, novelty (importer never inspected): draw 0.0100 "
                           "under chance 0.05"]}  # fmt: skip
    coded = written | {"reasons": [reason("model.explore.importer", draw=0.01, chance=0.05)]}
    decided = pl.DataFrame(
        {
            "declaration_id": ["A", "B", "C", "D", "E", "F", "G"],
            "signals": [json.dumps({"model": signal(s)}) for s in (0.9, 0.8, 0.1, 0.2, 0.7)]
            + [json.dumps({"model": written}), json.dumps({"model": coded})],
            "random_selected": [0, 0, 1, 1, 0, 0, 0],
        }
    )
    outcomes = pl.DataFrame(
        {
            "declaration_id": ["A", "B", "C", "D", "F", "G"],  # E was never inspected
            "result": [
                "non_compliant",
                "non_compliant",
                "compliant",
                "non_compliant",
                "compliant",
                "compliant",
            ],
            "revenue_recovered": [100.0, 50.0, None, 10.0, None, None],
        }
    )
    rows = {r["group"]: r for r in uplift(decided, outcomes).to_dicts()}
    assert rows["model"]["inspected"] == 2 and rows["model"]["hit_rate"] == 1.0
    assert rows["model"]["revenue_recovered"] == 150.0
    # an exploratory pick is forced, yet not the model's flag: it counts on its own
    assert rows["model exploration"]["inspected"] == 2 and rows["model exploration"]["frauds"] == 0
    assert rows["random control"]["hit_rate"] == 0.5 and rows["model"]["lift_vs_control"] == 2.0
