"""Each intelligence source is ingested like declarations: checked, stored, quarantined."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from tamis.cli import app
from tamis.ingest import ProfileError, quarantined
from tamis.intel import network
from tamis.intel.ingest import ingest_source, read_source
from tamis.intel.resolve import read_entities, resolve
from tamis.intel.sources import SOURCES
from tamis.intel.tables import SOURCE_TABLES
from tamis.synth import generate
from tests.intel_store import loaded_store

# source -> (row, field, bad value, reason): one broken record per kind of error
BREAKS = {
    "manifests": [
        (1, "gross_mass_kg", "heavy", "not a number"),
        (2, "arrival_date", "2025-02-30", "unparseable date"),
        (3, "consignee_name", "", "missing required field"),
        (4, "bill_number", "@row0", "duplicate key"),
    ],
    "payments": [
        (1, "currency", "XYZ", "unknown currency code"),
        (2, "amount", "-5", "negative value"),
        (3, "beneficiary_country", "QQ", "unknown country code"),
    ],
    "trademarks": [(1, "distributor_id", "", "missing required field")],
    "tax_returns": [
        (1, "period_start", "Q1 2025", "unparseable date"),
        (2, "import_purchases", "lots", "not a number"),
    ],
}
ROWS = 12


@pytest.fixture(scope="module")
def year():
    return generate(300, 2)


def broken_csv(frame: pl.DataFrame, source: str, path: Path) -> Path:
    """The first rows of a source as CSV, some of them broken, plus one malformed line."""
    frame = frame.head(ROWS).select(SOURCES[source].field_names).cast(pl.String)
    for row, field, value, _ in BREAKS[source]:
        bad = frame[field][0] if value == "@row0" else value
        frame = frame.with_columns(frame[field].scatter(row, bad or None))
    frame.write_csv(path)
    with path.open("a") as handle:
        handle.write("only,three,columns\n")
    return path


@pytest.mark.parametrize("source", SOURCES)
def test_a_broken_file_is_accepted_in_part_and_the_rest_quarantined(store, tmp_path, year, source):
    path = broken_csv(getattr(year, source), source, tmp_path / f"{source}.csv")
    summary = ingest_source(path, source, store)

    breaks = BREAKS[source]
    assert summary.received == ROWS + 1
    assert summary.rejected == len(breaks) + 1
    assert summary.received == summary.accepted + summary.rejected
    with store.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(SOURCE_TABLES[source])).scalar()
    assert stored == summary.accepted == ROWS - len(breaks)
    assert read_source(store, source).height == stored

    kept = quarantined(store, summary.source_id)
    by_row = {r["source_row"]: r for r in kept.iter_rows(named=True)}
    for row, field, _, reason in breaks:
        rejected = by_row[row + 1]
        assert (rejected["field"], rejected["reason"]) == (field, reason)
        key = SOURCES[source].key[0]
        assert f"row {row + 1}, {key} " in rejected["detail"]
    assert by_row[ROWS + 1]["reason"] == "malformed line"

    again = ingest_source(path, source, store)
    assert (again.inserted, again.already_stored) == (0, summary.accepted)


def test_money_is_stored_in_hundredths(store, tmp_path, year):
    path = tmp_path / "payments.parquet"
    year.payments.head(5).write_parquet(path)
    ingest_source(path, "payments", store)
    table = SOURCE_TABLES["payments"]
    with store.connect() as conn:
        minor = conn.execute(select(table.c.amount_minor).order_by(table.c.payment_id)).scalars()
        minor = list(minor)
    expected = year.payments.head(5).sort("payment_id")["amount"]
    assert minor == [int(a * 100) for a in expected]


def test_a_declaration_profile_is_refused_for_another_source(store, tmp_path, year):
    path = tmp_path / "manifests.parquet"
    year.manifests.head(3).write_parquet(path)
    with pytest.raises(ProfileError, match="a profile for declarations, not for manifests"):
        ingest_source(path, "manifests", store, profile="canonical")


def test_cli_ingests_a_source_and_reports_its_quarantine(tmp_path, monkeypatch, year):
    monkeypatch.setenv("TAMIS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    path = broken_csv(year.tax_returns, "tax_returns", tmp_path / "returns.csv")
    runner = CliRunner()
    result = runner.invoke(app, ["intel", "ingest", str(path), "--source", "tax_returns", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["received"], summary["accepted"], summary["rejected"]) == (13, 10, 3)
    assert summary["rejected_by_reason"]["unparseable date"] == 1
    listed = runner.invoke(app, ["quarantine"])
    assert "tax_number" in listed.output and "unparseable date" in listed.output
    wrong = runner.invoke(app, ["intel", "ingest", str(path), "--source", "invoices"])
    assert wrong.exit_code == 2 and "expected one of manifests" in wrong.output


def test_status_counts_every_source_the_entities_and_the_network(store, tmp_path, monkeypatch):
    url = store.url.render_as_string(hide_password=False)
    monkeypatch.setenv("TAMIS_DATABASE_URL", url)
    runner = CliRunner()

    def status() -> dict:
        result = runner.invoke(app, ["status", "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    assert {status()[name] for name in (*SOURCES, "entities", "network_importers")} == {0}
    _, year = loaded_store(url, tmp_path, 200, 2)
    counted = status()
    assert {name: counted[name] for name in SOURCES} == {
        name: getattr(year, name).height for name in SOURCES
    }
    assert counted["entities"] == counted["network_importers"] == 0
    resolve(store)
    network.build(store)
    counted = status()
    assert counted["entity_records"] == read_entities(store).height
    assert counted["entities"] == read_entities(store)["entity_id"].n_unique() > 0
    assert counted["network_importers"] == network.read_scores(store).height > 0
    shown = runner.invoke(app, ["status"]).output
    assert "tax_returns" in shown and "entities" in shown
