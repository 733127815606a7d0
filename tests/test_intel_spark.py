"""Entity resolution on Spark (local mode): the same model and the same entities as on
DuckDB."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tamis.cli import app
from tamis.intel.resolve import read_entities, resolve, spark_session
from tests.intel_store import loaded_store

MASTER = "local[2]"


@pytest.fixture(scope="module")
def spark():
    """One Spark session for the module, stopped at its end."""
    session = spark_session(MASTER)
    yield MASTER
    session.stop()


def test_spark_resolves_the_same_entities_as_duckdb(spark, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'spark.db'}"
    engine, _ = loaded_store(url, tmp_path, 300, 5)
    on_duckdb = resolve(engine).as_dict()
    duckdb_entities = read_entities(engine).select("record_key", "entity_id")

    monkeypatch.setenv("TAMIS_DATABASE_URL", url)
    result = CliRunner().invoke(app, ["intel", "resolve", "--spark", spark, "--json"])
    assert result.exit_code == 0, result.output
    on_spark = json.loads(result.stdout)
    assert on_spark.pop("seconds") > 0 and on_duckdb.pop("seconds") > 0
    assert on_spark == on_duckdb
    assert on_spark["records"] > on_spark["entities"] and on_spark["linked_by_model"] > 0
    spark_entities = read_entities(engine).select("record_key", "entity_id")
    assert spark_entities.sort("record_key").equals(duckdb_entities.sort("record_key"))


def test_a_bad_master_url_is_refused_in_words(tmp_path, monkeypatch):
    monkeypatch.setenv("TAMIS_DATABASE_URL", f"sqlite:///{tmp_path / 'tamis.db'}")
    result = CliRunner().invoke(app, ["intel", "resolve", "--spark", "nowhere[2]"])
    assert result.exit_code == 2
    assert "Spark master 'nowhere[2]': expected local, local[N]" in result.output
    assert "Exception" not in result.output
