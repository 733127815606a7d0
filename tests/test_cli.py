"""The `tamis` command as a new user types it."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from tamis.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def store_here(tmp_path, monkeypatch):
    monkeypatch.setenv("TAMIS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.chdir(tmp_path)


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_synth_writes_declarations_with_ground_truth(tmp_path):
    output = run("synth", "--declarations", "300", "--seed", "7", "--out", "year.parquet")
    assert "300 declarations" in output
    year = pl.read_parquet(tmp_path / "year.parquet")
    assert {"fraud", "fraud_type", "revenue_at_stake"} <= set(year.columns)
    assert year.schema["fraud"] == pl.Boolean
    assert (tmp_path / "year.manifests.parquet").exists()


def test_ingest_json_summary_and_quarantine_export(tmp_path):
    (tmp_path / "bad.csv").write_text(
        "declaration_id,lodged_at,office,importer_id,item_number,hs_code,origin_country,"
        "customs_value\n"
        "D1,2025-01-02,CASA-PORT,IMP1,1,640399,CN,100\n"
        "D2,2025-01-02,CASA-PORT,IMP1,1,64,CN,100\n"
        "D3,2025-02-30,CASA-PORT,IMP1,1,640399,CN,100\n"
        "D4,2025-01-02,CASA-PORT,IMP1,1,640399,XX,-5\n"
    )
    summary = json.loads(run("ingest", "bad.csv", "--profile", "canonical", "--json"))
    assert summary["received"] == 4 and summary["accepted"] == 1 and summary["rejected"] == 3
    assert summary["rejected_by_reason"] == {
        "invalid HS code": 1,
        "unparseable date": 1,
        "unknown country code": 1,
    }
    listed = run("quarantine")
    assert "invalid HS code" in listed and "3 quarantined records" in listed
    run("quarantine", "--export", "rejects.csv")
    rejects = pl.read_csv(tmp_path / "rejects.csv")
    assert rejects["source_row"].to_list() == [2, 3, 4]
    assert rejects["field"].to_list() == ["hs_code", "lodged_at", "origin_country"]
    status = json.loads(run("status", "--json"))
    assert status["declarations"] == 1 and status["quarantined"]["invalid HS code"] == 1


def test_errors_are_clear_and_exit_non_zero(tmp_path):
    result = runner.invoke(app, ["ingest", "missing.csv", "--profile", "canonical"])
    assert result.exit_code == 2 and "missing.csv: no such file" in result.output
    result = runner.invoke(app, ["ingest", "missing.csv", "--profile", "nope"])
    assert result.exit_code == 2 and "no profile 'nope'" in result.output
