"""What each detector and rule finds: the report, `tamis learn report` and the models page."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from tamis import audit
from tamis.cli import app
from tamis.inspections import record_outcomes, simulated_results
from tamis.learn import combiner
from tamis.learn.combiner import Learning, routing_in_force
from tamis.learn.detector_report import SCHEMA, report
from tamis.learn.outcomes import decided_and_found
from tamis.route import load_routing
from tests.stores import assessed_store
from tests.test_web import browser_login

runner = CliRunner()
DECLARATIONS = 600


def every_one_inspected(engine, tmp_path, decided: pl.DataFrame) -> None:
    """Results for the declarations the assessment left uninspected, so that every flag has
    results to be judged on (the few inspected of 600 may hold no fraud)."""
    year = tmp_path / "year.parquet"
    truth = pl.read_parquet(
        year, columns=["declaration_id", "lodged_at", "fraud", "fraud_type", "revenue_at_stake"]
    )
    left = decided.filter(~pl.col("channel").is_in(["orange", "red"]) & ~pl.col("random_selected"))
    record_outcomes(
        engine, simulated_results(left.with_columns(random_selected=True), truth, truth)
    )


@pytest.fixture
def inspected(store, tmp_path):
    decided = assessed_store(store, tmp_path, declarations=DECLARATIONS)
    every_one_inspected(store, tmp_path, decided)
    return store


def test_a_row_per_detector_and_rule_with_sound_figures(inspected):
    found = report(inspected, routing_in_force(inspected), 0.10)
    assert found.schema == pl.Schema(SCHEMA)
    detectors = {c.removesuffix("__score") for c in decided_and_found(inspected).columns
                 if c.endswith("__score")}  # fmt: skip
    assert set(found.filter(kind="detector")["name"]) == detectors
    assert found.filter(kind="rule").height >= 1
    assert (found["inspected"] <= found["flagged"]).all()
    assert (found["frauds"] <= found["inspected"]).all()
    assert found["hit_rate"].drop_nulls().is_between(0, 1).all()
    assert (found["flagged"] <= DECLARATIONS).all()
    assert found.filter(kind="rule")["marginal"].is_null().all()
    assert found.filter(kind="detector")["marginal"].is_not_null().all()


def test_a_lift_under_the_floor_is_said(inspected):
    routing = routing_in_force(inspected)
    assert set(report(inspected, routing, 0.10, Learning(lift_floor=0))["status"]) == {"kept"}
    found = report(inspected, routing, 0.10, Learning(lift_floor=1000, min_flagged=1))
    judged = found.filter(pl.col("lift").is_not_null() & (pl.col("inspected") >= 1))
    assert judged.height >= 1
    for row in judged.iter_rows(named=True):
        assert row["status"] == f"watch: lift {row['lift']:.2f} under floor 1000.00"


def test_a_detector_the_learnt_combination_left_out_says_it_has_no_weight(inspected):
    judge_all = Learning(lift_floor=1000, min_flagged=1, min_results=1, min_frauds=1)
    assert combiner.train(inspected, judge_all) is not None
    found = report(inspected, routing_in_force(inspected), 0.10, judge_all)
    cut = found.filter(pl.col("kind") == "detector", pl.col("status").str.starts_with("no weight"))
    assert cut.height >= 1  # every judged detector, left out by the combination in force


def test_an_empty_store_reports_nothing(store):
    assert report(store, routing_in_force(store)).is_empty()


def test_learn_report_prints_json_rows(inspected, monkeypatch):
    monkeypatch.setenv("TAMIS_DATABASE_URL", inspected.url.render_as_string(hide_password=False))
    result = runner.invoke(app, ["learn", "report", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows and set(rows[0]) == set(SCHEMA)
    assert {r["kind"] for r in rows} == {"detector", "rule"}
    table = runner.invoke(app, ["learn", "report"])
    assert table.exit_code == 0 and "kept" in table.output


def test_routing_combinations_are_learnt_listed_promoted_and_rolled_back(inspected, monkeypatch):
    monkeypatch.setenv("TAMIS_DATABASE_URL", inspected.url.render_as_string(hide_password=False))
    monkeypatch.setattr(combiner, "load_routing", lambda: load_routing().model_copy(
        update={"learn": Learning(min_results=1, min_frauds=1, lift_floor=0)}))  # fmt: skip
    first = runner.invoke(app, ["learn", "routing", "--json"])
    assert first.exit_code == 0, first.output
    version = json.loads(first.output)["version"]
    assert version is not None and combiner.active(inspected).version == version
    refused = runner.invoke(
        app, ["learn", "rollback", "--kind", "routing", "--reason", "back to the earlier weights"]
    )
    assert refused.exit_code != 0 and "no earlier promoted model" in refused.output
    second = json.loads(runner.invoke(app, ["learn", "routing", "--json"]).output)["version"]
    assert (
        runner.invoke(
            app, ["learn", "promote", str(second), "--kind", "routing", "--reason", "refitted"]
        ).exit_code
        == 0
    )
    listed = runner.invoke(app, ["learn", "models", "--kind", "routing"]).output
    assert f"* {second}:" in listed and f"  {version}:" in listed
    assert (
        runner.invoke(
            app,
            ["learn", "rollback", "--kind", "routing", "--reason", "back to the earlier weights"],
        ).exit_code
        == 0
    )
    assert combiner.active(inspected).version == version
    said = [e for e in audit.entries(inspected) if e["action"] == "model.rollback"]
    assert said and "back to the earlier weights" in json.dumps(said[-1], default=str)
    unsaid = runner.invoke(app, ["learn", "rollback", "--kind", "routing", "--reason", " "])
    assert unsaid.exit_code != 0 and "--reason" in unsaid.output
    fraud_only = runner.invoke(app, ["learn", "promote", str(version), "--reason", "a test"])
    assert fraud_only.exit_code != 0  # a routing combination is not a fraud model


def test_the_models_page_shows_what_each_finds(anonymous, tmp_path):
    engine = anonymous.app.state.engine
    anonymous.follow_redirects = False
    browser_login(anonymous, "analyst")
    empty = anonymous.get("/models", headers={"accept-language": "en"})
    assert empty.status_code == 200 and "Detectors and rules: what each finds" in empty.text
    decided = assessed_store(engine, tmp_path, declarations=300)
    every_one_inspected(engine, tmp_path, decided)
    anonymous.cookies.set("tamis_lang", "fr")
    page = anonymous.get("/models").text
    assert "Détecteurs et profils : ce que chacun trouve" in page and 'id="detectors"' in page
