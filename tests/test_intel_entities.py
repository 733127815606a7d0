"""Entity resolution with Splink: quality against the synthetic truth, and analysts'
decisions that hold on every later run."""

from __future__ import annotations

import polars as pl
import pytest
from typer.testing import CliRunner

from tamis.cli import app
from tamis.intel.resolve import (
    PARTIES,
    decide,
    importer_entities,
    party_records,
    read_entities,
    resolve,
)
from tests.intel_store import loaded_store

col = pl.col
TRUTH = {"manifests": "consignee_entity", "payments": "payer_entity",
         "tax_returns": "company_entity", "trademarks": "distributor_entity"}  # fmt: skip


def truth_of(year) -> pl.DataFrame:
    frames = {"declarations": year.items.unique("declaration_id")}
    frames |= {s: getattr(year, s) for s in TRUTH}
    return pl.concat(
        party_records(s, f).with_columns(f[TRUTH.get(s, "importer_id")].alias("true_entity"))
        for s, f in frames.items()
    ).unique("record_key")


def pair_counts(resolved: pl.DataFrame) -> tuple[int, int, int]:
    def pairs(by):
        sizes = resolved.group_by(by).len()["len"]
        return int((sizes * (sizes - 1) // 2).sum())

    return pairs(["entity_id", "true_entity"]), pairs("entity_id"), pairs("true_entity")


def entity_of(engine, record_key: str) -> str:
    entities = read_entities(engine)
    return entities.filter(col("record_key") == record_key)["entity_id"][0]


def test_decisions_stick_and_quality_is_measured(store, tmp_path):
    _, year = loaded_store(str(store.url.render_as_string(hide_password=False)), tmp_path, 1200, 3)
    summary = resolve(store)
    assert summary.records > summary.entities > 0
    resolved = read_entities(store).join(truth_of(year), on="record_key")
    assert resolved.height == summary.records
    hits, found, true = pair_counts(resolved)
    assert hits / found >= 0.95 and hits / true >= 0.9

    # every source's records of one company resolve to its customs id
    big = (
        resolved.filter(col("true_entity") == col("entity_id"))
        .group_by("entity_id")
        .agg(col("source").n_unique().alias("sources"), col("record_key"))
        .sort("sources", descending=True)
        .row(0, named=True)
    )
    assert big["sources"] >= 3
    a, b = big["record_key"][:2]
    decide(store, a, b, "split", "amina", "different branches")
    other = resolved.filter(col("entity_id") != big["entity_id"])["record_key"][0]
    decide(store, a, other, "confirm", "amina", "same tax number on the invoice")
    for _ in range(2):  # the decisions hold on every later run
        after = resolve(store)
        assert (after.split, after.confirmed) == (1, 1)
        assert entity_of(store, a) != entity_of(store, b)
        assert entity_of(store, a) == entity_of(store, other)

    with pytest.raises(ValueError, match="no resolved record 'nope'"):
        decide(store, a, "nope", "split", "amina")
    with pytest.raises(ValueError, match="decision 'merge'"):
        decide(store, a, b, "merge", "amina")


def test_cli_lists_an_entity_and_records_a_decision(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine, year = loaded_store(url, tmp_path, 600, 4)
    monkeypatch.setenv("TAMIS_DATABASE_URL", url)
    runner = CliRunner()
    result = runner.invoke(app, ["intel", "resolve", "--json"])
    assert result.exit_code == 0, result.output
    importer = year.items["importer_id"][0]
    listed = runner.invoke(app, ["intel", "entity", importer])
    assert listed.exit_code == 0 and importer in listed.output and "declarations" in listed.output
    keys = read_entities(engine).filter(col("entity_id") == importer)["record_key"].to_list()
    assert len(keys) >= 2
    decided = runner.invoke(
        app, ["intel", "decide", keys[0], keys[1], "--split", "--analyst", "amina"]
    )
    assert decided.exit_code == 0 and "split" in decided.output
    runner.invoke(app, ["intel", "resolve"])
    assert entity_of(engine, keys[0]) != entity_of(engine, keys[1])
    missing = runner.invoke(app, ["intel", "entity", "IMP999999"])
    assert missing.exit_code == 2 and "no entity 'IMP999999'" in missing.output
    assert set(PARTIES) == {"declarations", "offences", *TRUTH}  # officers name offenders


def test_one_company_under_two_customs_ids_is_one_entity_for_the_cross_checks(store, tmp_path):
    url = store.url.render_as_string(hide_password=False)
    loaded_store(url, tmp_path, 300, 6)
    assert importer_entities(store).is_empty()  # not resolved yet
    resolve(store)
    declared = read_entities(store).filter(col("source") == "declarations")
    a, b = declared.unique("customs_id").sort("customs_id").head(2).iter_rows(named=True)
    before = dict(importer_entities(store).iter_rows())
    assert before[a["customs_id"]] == a["customs_id"] != before[b["customs_id"]]
    decide(store, a["record_key"], b["record_key"], "confirm", "amina", "one company, two ids")
    resolve(store)
    after = dict(importer_entities(store).iter_rows())
    assert after[a["customs_id"]] == after[b["customs_id"]]
    assert len(after) == len(before) == declared["customs_id"].n_unique()
