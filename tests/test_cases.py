"""The targeting centre as analysts, inspectors and partners use it, over the real API."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from tamis import audit, synth
from tamis.assess import assess_file, assessor_from_store
from tamis.cases import cases as case_store
from tamis.cli import app as cli
from tamis.ingest import ingest
from tamis.reasons import reason, render
from tamis.store.read import read_outcomes
from tests.conftest import login


@pytest.fixture
def centre(client, tmp_path, monkeypatch):
    """The admin's client on a store holding a small assessed synthetic period."""
    monkeypatch.setenv("TAMIS_ATTACHMENTS_DIR", str(tmp_path / "attachments"))
    engine = client.app.state.engine
    year = tmp_path / "year.parquet"
    synth.write(synth.generate(600, 11, days=60), year)
    ingest(year, "canonical", engine)
    decided = tmp_path / "decided.parquet"
    assess_file(year, "canonical", assessor_from_store(engine), decided, engine)
    client.decided = pl.read_parquet(decided)
    client.year = year
    return client


def _red_case(client) -> dict:
    return client.get("/api/cases", params={"status": "open", "limit": 1}).json()[0]


def test_red_and_orange_decisions_open_cases_queued_by_priority(centre):
    flagged = centre.decided.filter(pl.col("channel").is_in(["red", "orange"]))
    queue = centre.get("/api/cases", params={"limit": 1000}).json()
    assert len(queue) == flagged.height > 0
    assert {c["declaration_id"] for c in queue} == set(flagged["declaration_id"])
    scores = [c["score"] for c in queue]
    assert scores == sorted(scores, reverse=True)
    assert all(c["origin"] == "decision" and c["status"] == "open" for c in queue)
    assert all(c["reason"].startswith(("channel red", "channel orange")) for c in queue)
    assert not any('{"code"' in c["reason"] for c in queue)  # stored in words
    office = queue[0]["office"]
    by_office = centre.get("/api/cases", params={"office": office, "limit": 1000}).json()
    assert by_office and {c["office"] for c in by_office} == {office}
    engine = centre.app.state.engine
    assess_file(
        centre.year,
        "canonical",
        assessor_from_store(engine),
        centre.year.with_name("again.parquet"),
        engine,
    )
    after = [c["declaration_id"] for c in centre.get("/api/cases", params={"limit": 1000}).json()]
    assert len(after) == len(set(after)) >= len(queue)  # never two open cases on one declaration


def test_an_inspector_records_a_result_that_closes_the_case_and_feeds_learning(centre):
    case = _red_case(centre)
    login(centre, "inspector", "karim")
    assigned = centre.post(f"/api/cases/{case['case_id']}/assign", json={"assignee": "karim"})
    assert assigned.json()["assignee"] == "karim"
    assert (
        centre.post(f"/api/cases/{case['case_id']}/assign", json={"assignee": "nobody"}).status_code
        == 409
    )
    inspector = login(centre, "inspector", "karim")
    path = f"/api/cases/{case['case_id']}"
    moving = centre.post(f"{path}/status", json={"status": "in_inspection"}, headers=inspector)
    assert moving.json()["status"] == "in_inspection"
    missing_type = centre.post(
        f"{path}/result", json={"result": "non_compliant"}, headers=inspector
    )
    assert missing_type.status_code == 422 and "fraud_type" in missing_type.text
    bad_item = {"result": "compliant", "item_number": 99}
    refused = centre.post(f"{path}/result", json=bad_item, headers=inspector)
    assert refused.status_code == 409 and "item 99" in refused.json()["detail"]
    found = {
        "result": "non_compliant",
        "fraud_type": "valuation",
        "revenue_recovered": "15230.50",
        "fraud_notice": "AVF-2025-0042",
        "corrected_customs_value": "98000",
        "corrected_origin": "cn",
    }
    closed = centre.post(f"{path}/result", json=found, headers=inspector).json()
    assert closed["status"] == "closed" and closed["closed_at"]
    [stored] = closed["results"]
    assert stored["revenue_recovered_minor"] == 1523050 and stored["corrected_origin"] == "CN"
    assert stored["corrected_customs_value_minor"] == 9800000 and stored["inspector"] == "karim"
    labels = read_outcomes(centre.app.state.engine)
    assert case["declaration_id"] in labels["declaration_id"].to_list()
    declaration = centre.get(f"/api/declarations/{case['declaration_id']}/assessment").json()
    assert declaration["declaration_id"] == case["declaration_id"]
    again = centre.post(f"{path}/result", json=found, headers=inspector)
    assert again.status_code == 409 and "closed" in again.json()["detail"]
    trail = audit.entries(centre.app.state.engine, entity="case", entity_id=str(case["case_id"]))
    assert [e["action"] for e in trail] == ["case.assign", "case.status", "case.status"]
    assert trail[-1]["before"] == {"status": "in_inspection", "closed_at": None}


def test_results_update_the_importers_history(centre):
    case = _red_case(centre)
    items = pl.read_parquet(centre.year, columns=["declaration_id", "importer_id"])
    importer = items.filter(pl.col("declaration_id") == case["declaration_id"])["importer_id"][0]
    before = centre.get(f"/api/importers/{importer}").json()
    found = {"result": "non_compliant", "fraud_type": "origin", "revenue_recovered": "100"}
    centre.post(f"/api/cases/{case['case_id']}/result", json=found)
    after = centre.get(f"/api/importers/{importer}").json()
    assert after["inspected_declarations"] == before["inspected_declarations"] + 1
    assert after["non_compliant_declarations"] == before["non_compliant_declarations"] + 1
    assert after["fraud_types"]["origin"] >= 1
    assert centre.get("/api/importers/NOBODY").status_code == 404


def test_notes_and_attachments_kept_by_checksum(centre, tmp_path):
    case = _red_case(centre)
    path = f"/api/cases/{case['case_id']}"
    assert centre.post(f"{path}/notes", json={"text": "container seal broken"}).status_code == 201
    photo = b"\x89PNG fake photo bytes" * 100
    sent = centre.post(f"{path}/attachments", files={"file": ("seal.png", photo, "image/png")})
    assert sent.status_code == 201, sent.text
    attachment = sent.json()
    shown = centre.get(path).json()
    assert shown["notes"][0]["text"] == "container seal broken"
    assert shown["attachments"][0]["sha256"] == attachment["sha256"]
    got = centre.get(f"/api/attachments/{attachment['attachment_id']}")
    assert got.content == photo and got.headers["content-type"] == "image/png"
    stored = tmp_path / "attachments" / attachment["sha256"][:2] / attachment["sha256"]
    stored.write_bytes(b"tampered")
    assert centre.get(f"/api/attachments/{attachment['attachment_id']}").status_code == 409


COVID = {
    "name": "COVID-19 medical and protective goods",
    "reason": "crisis watch: masks, gloves, medicines",
    "hs_prefixes": ["3004", "6307", "4015"],
    "keywords": ["mask"],
}


def test_a_watchlist_needs_criteria_and_valid_codes(centre):
    empty = centre.post("/api/watchlists", json={"name": "x", "reason": "nothing"})
    assert empty.status_code == 422 and "at least one of" in empty.text
    bad = centre.post("/api/watchlists", json=COVID | {"origins": ["XX1"]})
    assert bad.status_code == 422 and "origins" in bad.text


def _lodgement(declaration_id: str, hs_code: str, description: str) -> dict:
    return {
        "declaration_id": declaration_id,
        "lodged_at": "2025-02-01T10:00:00",
        "office": "CASA-PORT",
        "procedure": "4000",
        "importer_id": "IMP-WATCH",
        "items": [
            {
                "item_number": 1,
                "hs_code": hs_code,
                "origin_country": "FR",
                "customs_value": "1000",
                "net_mass_kg": 10,
                "description": description,
            }
        ],
    }


def test_a_case_summary_is_said_in_the_reader_language_whether_reasons_are_codes_or_text(store):
    coded = reason("route.random", draw=0.0123, rate=0.05, office="CASA-PORT")
    said = "random selection: draw 0.0123 under rate 0.05 for office CASA-PORT (exploration, "
    said += "deterrence)"
    old = "rule R-OLD: weapons (forced red)"  # a reason stored before reasons had codes
    decided = [
        {"declaration_id": f"D-S-{n}", "channel": "red", "score": 0.9, "revenue_at_stake": 1.0,
         "reasons": reasons}
        for n, reasons in enumerate([[coded, old], [old, coded, old, coded]])
    ]  # fmt: skip
    offices = {d["declaration_id"]: "CASA-PORT" for d in decided}
    expected = [f"channel red: {said}; {old}", f"channel red: {old}; {said}; {old}"]
    with store.begin() as conn:
        assert case_store.open_for_rows(conn, decided, offices) == 2
        frame = pl.DataFrame([d | {"declaration_id": "F" + d["declaration_id"]} for d in decided])
        places = pl.DataFrame({"declaration_id": frame["declaration_id"], "office": "CASA-PORT"})
        assert case_store.open_for_decisions(conn, frame, places) == 2
    queue = case_store.queue(store)
    summaries = {c["declaration_id"]: render(c["reason"]) for c in queue}
    assert summaries == {"D-S-0": expected[0], "D-S-1": expected[1],
                         "FD-S-0": expected[0], "FD-S-1": expected[1]}  # fmt: skip
    in_french = render(next(c["reason"] for c in queue if c["declaration_id"] == "D-S-0"), "fr")
    assert in_french.startswith("circuit rouge : sélection aléatoire : tirage 0,0123")
    assert in_french.endswith(old)  # words stored before codes stay as they were


def test_watchlist_hits_are_recorded_open_cases_route_and_report(centre):
    created = centre.post("/api/watchlists", json=COVID)
    assert created.status_code == 201, created.text
    watchlist_id = created.json()["watchlist_id"]
    lodged = centre.post("/api/declarations", json=_lodgement("D-W-1", "6307909800", "FFP2 masks"))
    assert any("COVID-19" in r for r in lodged.json()["reasons"])
    cases = centre.get("/api/cases", params={"limit": 1000}).json()
    [case] = [c for c in cases if c["declaration_id"] == "D-W-1"]
    assert case["origin"] in ("watchlist", "decision")
    routed = COVID | {"route_channel": "red", "name": "COVID-19 (routed)"}
    centre.post("/api/watchlists", json=routed)
    red = centre.post("/api/declarations", json=_lodgement("D-W-2", "3004900000", "paracetamol"))
    assert red.json()["channel"] == "red" and red.json()["forced_channel"] == "red", (
        red.json()["reasons"],
        red.json()["signals"],
    )
    plain = centre.post("/api/declarations", json=_lodgement("D-W-3", "8471300000", "laptops"))
    assert not any("watchlist" in r for r in plain.json()["reasons"])
    report = centre.get(f"/api/watchlists/{watchlist_id}/report").json()
    assert report["hits"] == 2 and report["by_office"] == {"CASA-PORT": 2}
    rerun = centre.post(f"/api/watchlists/{watchlist_id}/run").json()
    history = pl.read_parquet(centre.year, columns=["declaration_id", "hs_code", "description"])
    planted = history.filter(
        pl.col("hs_code").str.contains("^(3004|6307|4015)")
        | pl.col("description").str.to_lowercase().str.contains("mask")
    )["declaration_id"].n_unique()
    assert rerun["new_hits"] == planted
    assert centre.get(f"/api/watchlists/{watchlist_id}/report").json()["hits"] == planted + 2


def test_post_clearance_picks_released_declarations_by_expected_revenue(centre):
    selection = centre.post("/api/post-clearance/selections", json={"budget": 5})
    assert selection.status_code == 201, selection.text
    picks = selection.json()["declarations"]
    assert len(picks) == 5 and [p["rank"] for p in picks] == [1, 2, 3, 4, 5]
    released = centre.decided.filter(pl.col("channel").is_in(["green", "blue"]))
    assert {p["declaration_id"] for p in picks} <= set(released["declaration_id"])
    expected = [p["score"] * (p["revenue_at_stake"] or 0) for p in picks]
    assert expected == sorted(expected, reverse=True)
    assert "rank 1 of" in picks[0]["explanation"]
    second = centre.post("/api/post-clearance/selections", json={"budget": 5}).json()
    assert not {p["declaration_id"] for p in second["declarations"]} & {
        p["declaration_id"] for p in picks
    }
    assert centre.post("/api/post-clearance/selections", json={"budget": 0}).status_code == 422


def test_mutual_assistance_partners_see_only_their_own(centre):
    case = _red_case(centre)
    ask = {"direction": "outgoing", "partner": "DGDDI-FR", "subject": "invoice check", "body": "?"}
    ours = centre.post("/api/assistance", json=ask | {"case_id": case["case_id"]}).json()
    other = centre.post("/api/assistance", json=ask | {"partner": "AEAT-ES"}).json()
    incoming = centre.post("/api/assistance", json=ask | {"direction": "incoming"}).json()
    france = login(centre, "partner", "fr-liaison", partner="DGDDI-FR")
    visible = centre.get("/api/assistance", headers=france).json()
    assert {r["request_id"] for r in visible} == {ours["request_id"], incoming["request_id"]}
    assert centre.get(f"/api/assistance/{other['request_id']}", headers=france).status_code == 404
    answered = centre.post(
        f"/api/assistance/{ours['request_id']}/answer",
        json={"answer": "invoice is false"},
        headers=france,
    )
    assert answered.json()["status"] == "answered"
    not_theirs = centre.post(
        f"/api/assistance/{incoming['request_id']}/answer", json={"answer": "x"}, headers=france
    )
    assert not_theirs.status_code == 409
    assert centre.get("/api/cases", headers=france).status_code == 403


def test_the_cli_lists_cases_adds_watchlists_and_selects_audits(centre, tmp_path, monkeypatch):
    url = centre.app.state.engine.url.render_as_string(hide_password=False)
    monkeypatch.setenv("TAMIS_DATABASE_URL", url)
    runner = CliRunner()
    listed = json.loads(runner.invoke(cli, ["cases", "list", "--json", "--limit", "3"]).output)
    assert len(listed) == 3
    assert all(c["reason"].startswith("channel ") and '{"' not in c["reason"] for c in listed)
    table = runner.invoke(cli, ["cases", "list", "--limit", "3"]).output
    assert "channel" in table and '{"' not in table  # in words
    spec = tmp_path / "covid.yaml"
    spec.write_text("name: covid\nreason: crisis watch\nhs_prefixes: ['3004']\n")
    assert "created" in runner.invoke(cli, ["watchlist", "add", str(spec)]).output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nreason: nothing to match\n")
    refused = runner.invoke(cli, ["watchlist", "add", str(bad)])
    assert refused.exit_code == 2 and "at least one of" in refused.output
    selected = runner.invoke(cli, ["post-clearance", "select", "--budget", "3", "--json"])
    assert len(json.loads(selected.output)["declarations"]) == 3
    result = runner.invoke(
        cli, ["cases", "result", str(listed[0]["case_id"]), "--result", "non_compliant"]
    )
    assert result.exit_code == 2 and "fraud_type" in result.output
    sent = ["assistance", "send", "DGDDI-FR", "--subject", "invoice", "--body", "check it"]
    assert "recorded" in runner.invoke(cli, sent).output
    asked = runner.invoke(cli, ["assistance", "list", "--json"]).output
    [request] = json.loads(asked)
    assert request["partner"] == "DGDDI-FR" and request["direction"] == "outgoing"
    ours = runner.invoke(cli, ["assistance", "answer", str(request["request_id"]), "yes"])
    assert ours.exit_code == 2 and "other administration" in ours.output


def test_an_inspector_acts_on_their_own_cases_not_on_another_inspectors(centre):
    case = _red_case(centre)
    path = f"/api/cases/{case['case_id']}"
    karim, nadia = login(centre, "inspector", "karim"), login(centre, "inspector", "nadia")
    assert centre.post(f"{path}/assign", json={"assignee": "karim"}).status_code == 200
    note = {"text": "seals checked"}
    refused = centre.post(f"{path}/notes", json=note, headers=nadia)
    assert refused.status_code == 403 and "assigned to karim" in refused.json()["detail"]
    assert (
        centre.post(f"{path}/status", json={"status": "closed"}, headers=nadia).status_code == 403
    )
    result = {"result": "compliant"}
    assert centre.post(f"{path}/result", json=result, headers=nadia).status_code == 403
    assert centre.post(f"{path}/notes", json=note, headers=karim).status_code == 201
    assert centre.post(f"{path}/notes", json=note).status_code == 201  # an analyst may
