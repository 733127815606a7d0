"""The network of parties: risk from known offenders, `tamis network show` and the API."""

from __future__ import annotations

import json

import networkx as nx
import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from typer.testing import CliRunner

from tamis.api.app import create_app
from tamis.cli import app
from tamis.detectors.base import StoreContext
from tamis.detectors.network import NetworkDetector
from tamis.inspections import record_outcomes, simulated_random_results
from tamis.intel import network
from tamis.intel.resolve import read_entities, resolve
from tamis.intel.tables import SOURCE_TABLES
from tamis.reasons import render
from tamis.store.read import read_items
from tests.conftest import login
from tests.intel_store import loaded_store

col = pl.col


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("network")
    url = f"sqlite:///{folder / 'tamis.db'}"
    engine, year = loaded_store(url, folder, 4000, 6)
    resolve(engine)
    record_outcomes(engine, simulated_random_results(year.items, 0.08, seed=6))
    built = network.build(engine)
    ring = sorted(set(year.items.filter("ring_member")["importer_id"]))
    yield engine, url, year, built, ring
    engine.dispose()


def test_the_ring_rises_to_the_top_of_network_risk(world):
    engine, _, _, built, ring = world
    assert built.known_offenders > 5 and built.importers > 500
    scores = network.read_scores(engine)
    assert scores.height == built.importers
    members = scores.filter(col("entity_id").is_in(ring))
    unknown = members.filter(~col("known_offender"))
    assert unknown.height >= 3  # most of the ring is not known yet...
    assert (unknown["percentile"] >= 0.97).all()  # ...but the network points at it
    assert members["community"].n_unique() == 1
    lone = scores.filter(col("known_offender") & (col("community_offenders") == 1))
    assert lone.height and lone["risk"].median() < members["risk"].median()


def test_the_network_detector_explains_its_score(world):
    engine, _, year, _, ring = world
    detector = NetworkDetector.from_store(engine, StoreContext(engine))
    known = network.read_scores(engine).filter("known_offender")["entity_id"]
    suspects = [m for m in ring if m not in set(known)]
    batch = read_items(engine).filter(col("importer_id").is_in(suspects))
    signals = detector.assess(batch)
    assert signals.height == batch["declaration_id"].n_unique()
    assert (signals["score"] > 0.5).all()
    reason = render(signals["reasons"][0][0])
    assert "network risk" in reason and "known offenders" in reason


def test_network_show_prints_the_ties_and_who_shares_them(world, monkeypatch, tmp_path):
    _, url, _, _, ring = world
    monkeypatch.setenv("TAMIS_DATABASE_URL", url)
    runner = CliRunner()
    result = runner.invoke(app, ["network", "show", ring[0]])
    assert result.exit_code == 0, result.output
    output = result.output
    assert output.startswith(f"{ring[0]}  network risk")
    for kind in ("declarant", "address", "phone", "account", "paid_to", "supplier"):
        assert f"  {kind} " in output, kind
    assert sum(member in output for member in ring[1:]) >= 5  # the ring shares its ties
    drawn = tmp_path / "ring.png"
    as_json = runner.invoke(app, ["network", "show", ring[0], "--json", "--chart", str(drawn)])
    as_json = json.loads(as_json.stdout)
    assert drawn.read_bytes().startswith(b"\x89PNG")
    assert as_json["entity"] == ring[0] and as_json["edges"]
    missing = runner.invoke(app, ["network", "show", "IMP999999"])
    assert missing.exit_code == 2 and "not in the network" in missing.output


def test_api_returns_the_neighbourhood_and_takes_decisions(world):
    engine, url, _, _, ring = world
    client = TestClient(create_app(url))
    assert client.get(f"/api/network/{ring[0]}").status_code == 401
    client.headers.update(login(client, "analyst", "amina"))
    response = client.get(f"/api/network/{ring[0]}", params={"depth": 2})
    assert response.status_code == 200
    body = response.json()
    kinds = {n["kind"] for n in body["nodes"]}
    assert {"importer", "address", "phone", "account", "declarant"} <= kinds
    importers = {n["label"] for n in body["nodes"] if n["kind"] == "importer"}
    assert len(importers & set(ring)) >= 6
    ids = {n["id"] for n in body["nodes"]}
    assert all(e["source"] in ids and e["target"] in ids for e in body["edges"])
    assert client.get("/api/network/IMP999999").status_code == 404
    chart = client.get(f"/api/network/{ring[0]}/chart.png")
    assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")
    assert client.get("/api/network/x", params={"depth": 9}).status_code == 422

    entity = client.get(f"/api/entities/{ring[0]}")
    assert entity.status_code == 200
    keys = [r["record_key"] for r in entity.json()["records"]]
    decision = {"record_key_l": keys[0], "record_key_r": keys[-1], "decision": "split",
                "reason": "two firms"}  # fmt: skip
    taken = client.post("/api/entities/decisions", json=decision)
    assert taken.status_code == 201 and taken.json()["analyst"] == "amina"
    decision["record_key_r"] = "nope"
    assert client.post("/api/entities/decisions", json=decision).status_code == 404
    assert read_entities(engine).height > 0


def test_the_neighbourhood_is_read_from_the_last_build(store, tmp_path):
    url = store.url.render_as_string(hide_password=False)
    _, year = loaded_store(url, tmp_path, 300, 6)
    resolve(store)
    importer = year.items["importer_id"].value_counts(sort=True)["importer_id"][0]
    assert network.neighbourhood(store, importer) is None  # nothing built yet
    network.build(store)
    full = network.graph(network.read_ties(store))
    for depth in (1, 2, 3):  # the stored ties give the graph's own neighbourhood
        found = network.neighbourhood(store, importer, depth)
        around = nx.ego_graph(full, network.node("importer", importer), radius=depth)
        assert {n["id"]: n["degree"] for n in found["nodes"]} == dict(full.degree(around))
        assert {frozenset((e["source"], e["target"])) for e in found["edges"]} == {
            frozenset(e) for e in around.edges
        }
    assert found["risk"] is not None and found["community_size"] >= 1

    with store.begin() as conn:  # the sources change: the graph is the built one until rebuilt
        conn.execute(delete(SOURCE_TABLES["tax_returns"]))
    phones = {n["kind"] for n in network.neighbourhood(store, importer)["nodes"]}
    assert "phone" in phones
    network.build(store)
    assert "phone" not in {n["kind"] for n in network.neighbourhood(store, importer)["nodes"]}
