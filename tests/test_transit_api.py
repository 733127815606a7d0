"""``/api/transit`` over HTTP: who may send and read what, and what each answer says."""

from __future__ import annotations

import json
from datetime import timedelta

from tamis.transit.movements import register_guarantee
from tests.conftest import login
from tests.test_transit import RELEASED, declaration, message


def declared_and_released(client, headers, ref: str, **overrides) -> str:
    response = client.post(
        "/api/transit/messages", json=declaration(ref, **overrides), headers=headers
    )
    assert response.status_code == 201, response.text
    mrn = response.json()["mrn"]
    release = message("IE029", mrn, f"r-{ref}", released_at=RELEASED.isoformat())
    assert client.post("/api/transit/messages", json=release, headers=headers).status_code == 201
    return mrn


def test_messages_and_movements_over_http_by_role(anonymous):
    client = anonymous
    register_guarantee(client.app.state.engine, "G-1", "IMP001", 10**9, "MAD", "admin")
    inspector = login(client, "inspector")
    mrn = declared_and_released(client, inspector, "m1")
    again = client.post("/api/transit/messages", json=declaration("m1"), headers=inspector)
    assert again.status_code == 200 and again.json()["duplicate"]
    out_of_turn = message("IE045", mrn, "w1")
    refused = client.post("/api/transit/messages", json=out_of_turn, headers=inspector)
    assert refused.status_code == 409 and "needs it discrepancies" in refused.json()["reason"]
    broken = client.post("/api/transit/messages", content=b"{not json", headers=inspector)
    assert broken.status_code == 422 and broken.json()["outcome"] == "refused"
    huge = client.post("/api/transit/messages", content=b" " * 1_000_001, headers=inspector)
    assert huge.status_code == 413
    auditor = login(client, "auditor")
    assert (
        client.post("/api/transit/messages", json=declaration("m9"), headers=auditor).status_code
        == 403
    )
    assert client.post("/api/transit/messages", json=declaration("m9")).status_code == 401
    listed = client.get("/api/transit/movements", headers=auditor).json()
    assert [m["mrn"] for m in listed] == [mrn] and listed[0]["state"] == "released"
    timeline = client.get(f"/api/transit/movements/{mrn}", headers=auditor).json()
    types = [(m["direction"], m["type"], m["outcome"]) for m in timeline["messages"]]
    assert types == [
        ("in", "IE015", "accepted"),
        ("out", "IE028", "accepted"),
        ("in", "IE029", "accepted"),
        ("out", "IE001", "accepted"),
        ("in", "IE045", "refused"),
    ]
    assert (
        client.get("/api/transit/movements/26MA00000000000000", headers=auditor).status_code == 404
    )
    analyst = login(client, "analyst")
    assert (
        client.put(
            "/api/transit/guarantees/G-2",
            headers=analyst,
            json={"holder": "X", "reference_amount_minor": 1, "currency": "MAD"},
        ).status_code
        == 403
    )


def test_a_partner_collects_its_arrivals_and_reports_on_its_movements_only(anonymous):
    client = anonymous
    register_guarantee(client.app.state.engine, "G-1", "IMP001", 10**9, "MAD", "admin")
    inspector = login(client, "inspector")
    to_spain = declared_and_released(
        client, inspector, "m1", destination_office="ES001", destination_country="ES"
    )
    at_home = declared_and_released(client, inspector, "m2")
    spain = login(client, "partner", "aduana", partner="ES")
    france = login(client, "partner", "dgddi", partner="FR")
    outbox = client.get("/api/transit/outbox", headers=spain).json()
    assert [(m["type"], m["mrn"]) for m in outbox] == [("IE001", to_spain)]
    assert outbox[0]["body"]["destination_office"] == "ES001"
    assert (
        client.get(f"/api/transit/outbox?after={outbox[0]['message_id']}", headers=spain).json()
        == []
    )
    assert client.get("/api/transit/outbox", headers=france).json() == []
    assert [m["mrn"] for m in client.get("/api/transit/movements", headers=spain).json()] == [
        to_spain
    ]
    assert client.get(f"/api/transit/movements/{at_home}", headers=spain).status_code == 404
    arrival = {"arrived_at": (RELEASED + timedelta(days=2)).isoformat(), "office": "ES001"}
    theirs = message("IE006", to_spain, "es-1", "ES", **arrival)
    assert client.post("/api/transit/messages", json=theirs, headers=spain).status_code == 201
    ours = message("IE006", at_home, "es-2", "ES", **arrival)
    answer = client.post("/api/transit/messages", json=ours, headers=spain)
    assert answer.status_code == 403 and "not bound for ES" in answer.json()["reason"]
    results = message("IE018", to_spain, "es-3", "ES", result="A1", arrival_mass_kg=1000.0)
    written = client.post("/api/transit/messages", json=results, headers=spain).json()
    assert written["state"] == "written_off"
    assert client.get("/api/transit/outbox", headers=inspector).status_code == 403


def test_the_scheduler_round_over_http(client):
    register_guarantee(client.app.state.engine, "G-1", "IMP001", 10**9, "MAD", "admin")
    mrn = declared_and_released(client, {}, "m1")  # released in 2026-03: long overdue now
    raised = client.post("/api/transit/check").json()
    assert sorted(a["kind"] for a in raised) == ["enquiry", "overdue"]
    assert client.post("/api/transit/check").json() == []
    kinds = [a["kind"] for a in client.get("/api/transit/alerts").json()]
    assert sorted(kinds) == ["enquiry", "overdue"]
    body = json.loads(json.dumps(client.get(f"/api/transit/movements/{mrn}").json()))
    assert [a["kind"] for a in body["alerts"]] == ["overdue", "enquiry"]


def test_a_server_alerts_an_overdue_movement_within_one_round(store_url, monkeypatch):
    import time

    from fastapi.testclient import TestClient

    from tamis.api.app import create_app

    monkeypatch.setenv("TAMIS_TRANSIT_CHECK_MINUTES", "0.01")  # a round every 0.6 s
    with TestClient(create_app(store_url)) as client:
        client.headers.update(login(client, "admin"))
        register_guarantee(client.app.state.engine, "G-1", "IMP001", 10**9, "MAD", "admin")
        mrn = declared_and_released(client, {}, "m1")  # its limit long past
        deadline = time.monotonic() + 20
        while not client.get("/api/transit/alerts").json():
            assert time.monotonic() < deadline, "no round raised the overdue alert"
            time.sleep(0.2)
        kinds = {(a["mrn"], a["kind"]) for a in client.get("/api/transit/alerts").json()}
        assert (mrn, "overdue") in kinds
