"""The HTTP API: lodging a declaration returns its channel and reasons; errors are 4xx."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import httpx
import pytest
import yaml

from tamis import audit
from tamis.ingest import quarantined
from tamis.reasons import parse, render
from tamis.route import DEFAULT_CONFIG
from tamis.store import open_store
from tamis.store.checkpoints import Checkpointer
from tamis.store.tables import decisions
from tests.conftest import login
from tests.servers import TAMIS, serving

DECLARATION = {
    "declaration_id": "D-API-1",
    "lodged_at": "2025-03-01T10:00:00",
    "office": "CASA-PORT",
    "procedure": "4000",
    "importer_id": "IMP-NEW",
    "items": [
        {
            "item_number": 1,
            "hs_code": "6403990000",
            "origin_country": "CN",
            "customs_value": "12500.00",
            "net_mass_kg": 3000,
            "description": "shoes",
        },
        {
            "item_number": 2,
            "hs_code": "9302000000",
            "origin_country": "TR",
            "customs_value": "800",
            "description": "pistols",
        },
    ],
}


def test_lodging_returns_channel_score_and_reasons_and_is_stored(client):
    response = client.post("/api/declarations", json=DECLARATION)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["channel"] == "red" and body["forced_channel"] == "red"
    assert any("R-WEAPONS" in r for r in body["reasons"])
    assert any("R-FOOTWEAR-ASIA" in r for r in body["reasons"])
    assert body["rule_set_version"] == 1
    assert client.get("/api/declarations/D-API-1/assessment").json() == body  # as stored
    assert client.post("/api/declarations", json=DECLARATION).status_code == 409


def test_invalid_declarations_are_422_naming_the_field(client):
    bad = DECLARATION | {"items": [DECLARATION["items"][0] | {"hs_code": "64A"}]}
    response = client.post("/api/declarations", json=bad)
    assert response.status_code == 422
    error = response.json()["detail"][0]
    assert error["loc"] == ["body", "items", 0, "hs_code"] and error["type"] == "invalid HS code"
    missing = {k: v for k, v in DECLARATION.items() if k != "office"}
    assert client.post("/api/declarations", json=missing).status_code == 422
    assert client.post("/api/declarations", content=b"{not json").status_code == 422
    long_id = client.post("/api/declarations", json=DECLARATION | {"declaration_id": "D" * 65})
    assert long_id.status_code == 422 and long_id.json()["detail"][0]["type"] == "code too long"
    assert client.get("/api/declarations/NOPE/assessment").status_code == 404


AS_JSON = {"content-type": "application/json"}


def test_every_refused_lodgement_is_quarantined_with_its_reason(client):
    """Nothing submitted is lost: a refusal says where it is kept, and the quarantine holds
    each refused item, or the whole body when it is not a declaration at all."""
    engine = client.app.state.engine
    bad = DECLARATION | {
        "declaration_id": "D-API-BAD",
        "items": [DECLARATION["items"][0] | {"net_mass_kg": "-4"}, DECLARATION["items"][1]],
    }
    missing = {k: v for k, v in DECLARATION.items() if k != "office"} | {"declaration_id": "D-M"}
    assert client.post("/api/declarations", json=DECLARATION).status_code == 201
    refusals = {
        "checks": client.post("/api/declarations", json=bad),
        "again": client.post("/api/declarations", json=DECLARATION),
        "missing": client.post("/api/declarations", json=missing),
        "not json": client.post("/api/declarations", content=b"{not json", headers=AS_JSON),
    }
    assert [r.status_code for r in refusals.values()] == [422, 409, 422, 422]
    kept = {
        name: quarantined(engine, r.json()["quarantined"]).to_dicts()
        for name, r in refusals.items()
    }
    assert [(k["record_key"], k["field"], k["reason"]) for k in kept["checks"]] == [
        ("D-API-BAD item 1", "net_mass_kg", "negative value"),
        ("D-API-BAD item 2", "declaration_id", "rejected with its declaration"),
    ]
    assert json.loads(kept["checks"][0]["record"])["net_mass_kg"] == "-4"
    (again,) = kept["again"]
    assert (again["record_key"], again["reason"]) == ("D-API-1", "already lodged")
    assert json.loads(again["record"])["items"][1]["description"] == "pistols"
    (lacking,) = kept["missing"]
    assert (lacking["record_key"], lacking["field"], lacking["reason"]) == (
        "D-M",
        "office",
        "missing",
    )
    assert "office: Field required" in lacking["detail"]
    (garbled,) = kept["not json"]
    assert garbled["value"] == "{not json" and garbled["reason"] == "json invalid"
    assert "POST /api/declarations by admin-user" == garbled["source_path"]
    # without the right to lodge, nothing is written on anyone's behalf; without credentials
    # the body is not even read
    del client.headers["Authorization"]
    assert client.post("/api/declarations", content=b"{x", headers=AS_JSON).status_code == 401
    partner = login(client, "partner") | AS_JSON
    assert client.post("/api/declarations", content=b"{y", headers=partner).status_code == 422
    assert quarantined(engine, "api:").height == 2 + 1 + 1 + 1


def test_an_officer_raises_a_channel_but_never_below_a_forced_one(client, tmp_path, monkeypatch):
    no_random = tmp_path / "routing.yaml"  # a random red pick would leave nothing to raise
    routing = yaml.safe_load(DEFAULT_CONFIG.read_text()) | {"random": {"rate": 0.0}}
    no_random.write_text(yaml.safe_dump(routing))
    monkeypatch.setenv("TAMIS_ROUTING_CONFIG", str(no_random))
    lodged = client.post("/api/declarations", json=DECLARATION).json()
    lower = {"channel": "green", "reason": "known trader"}
    assert client.post("/api/declarations/D-API-1/channel", json=lower).status_code == 409
    plain = DECLARATION | {"declaration_id": "D-API-2", "items": [DECLARATION["items"][0]]}
    assert client.post("/api/declarations", json=plain).json()["channel"] != "red"
    raise_ = {"channel": "red", "reason": "tip-off from the port"}
    changed = client.post("/api/declarations/D-API-2/channel", json=raise_).json()
    assert changed["current_channel"] == "red" and changed["channel"] != "red"
    assert lodged["channel"] == "red"


def test_an_inspector_raises_a_channel_only_a_supervisor_lowers_one(client):
    lodged = client.post("/api/declarations", json=DECLARATION | {"declaration_id": "D-LOW"})
    assert lodged.status_code == 201
    path, inspector = "/api/declarations/D-LOW/channel", login(client, "inspector", "karim")
    raised = client.post(path, json={"channel": "red", "reason": "tip-off"}, headers=inspector)
    assert raised.status_code == 200 and raised.json()["current_channel"] == "red"
    lower = {"channel": "yellow", "reason": "documents seen"}
    refused = client.post(path, json=lower, headers=inspector)
    assert refused.status_code == 403 and "a supervisor's decision" in refused.json()["detail"]
    supervisor = login(client, "supervisor", "sara")
    lowered = client.post(path, json=lower, headers=supervisor)
    if lodged.json()["forced_channel"] in ("orange", "red"):
        assert lowered.status_code == 409  # never below what a risk profile forced
    else:
        assert lowered.status_code == 200 and lowered.json()["current_channel"] == "yellow"


def shoes_under_capacity(client, tmp_path, monkeypatch, reds_a_day: int):
    """A routing with ``reds_a_day`` reds per office and day, nothing at random, and a
    ``lodge(n, office, day)`` of footwear from China by a new importer at a low unit value
    (red by score): the decision as the API answers it."""
    capped = tmp_path / "routing.yaml"
    routing = yaml.safe_load(DEFAULT_CONFIG.read_text()) | {
        "random": {"rate": 0.0},
        "thresholds": {"blue": 0.2, "yellow": 0.3, "orange": 0.4, "red": 0.5},
        "capacity": {"offices": {"*": {"red": {"per_day": reds_a_day}}}},
    }
    capped.write_text(yaml.safe_dump(routing))
    monkeypatch.setenv("TAMIS_ROUTING_CONFIG", str(capped))

    def lodge(n: int, office: str = "CASA-PORT", day: str = "2025-03-01") -> dict:
        declaration = DECLARATION | {
            "declaration_id": f"D-CAP-{n}",
            "items": DECLARATION["items"][:1],
        }
        declaration |= {"office": office, "lodged_at": f"{day}T1{n % 10}:{n // 10:02d}:00"}
        return client.post("/api/declarations", json=declaration).json()

    return lodge


def test_capacity_at_lodgement_spends_each_office_days_budget_as_the_day_goes(
    client, tmp_path, monkeypatch
):
    """Two reds a day per office: the day's first two reds by score go red, the next are
    held back to orange and say so; another office and another day have their own budget.
    Once the office has past days, a red must also reach the score its budget held on them."""
    lodge = shoes_under_capacity(client, tmp_path, monkeypatch, reds_a_day=2)
    first_four = [lodge(n) for n in range(4)]
    assert [d["channel"] for d in first_four] == ["red", "red", "orange", "orange"]
    assert [d["capacity_held"] for d in first_four] == [False, False, True, True]
    assert all(d["score"] >= 0.5 for d in first_four)
    assert [d["selection_chance"] for d in first_four] == [1.0] * 4
    assert "held back to orange by capacity" in first_four[2]["reasons"][-1]  # in words
    assert first_four[2]["reason_codes"][-1]["code"] == "route.capacity.held"  # and as data
    assert lodge(4, office="TANGER-MED")["channel"] == "red"
    assert lodge(5, day="2025-03-02")["channel"] == "red"
    # with past days of other goods, the day is forecast from them: the footwear, riskier
    # than what the office had, still takes a red
    plain = DECLARATION | {"items": [DECLARATION["items"][1]]}
    for n, day in enumerate(["2025-03-03", "2025-03-04"]):
        for k in range(3):
            declaration = plain | {
                "declaration_id": f"D-PLAIN-{n}-{k}",
                "lodged_at": f"{day}T09:0{k}:00",
            }
            assert client.post("/api/declarations", json=declaration).status_code == 201
    assert lodge(7, day="2025-03-05")["channel"] == "red"


def test_lodgements_racing_for_the_last_place_of_the_day_get_it_once(client, tmp_path, monkeypatch):
    lodge = shoes_under_capacity(client, tmp_path, monkeypatch, reds_a_day=1)
    lodge(99, day="2025-02-01")  # the server's first lodgement builds the assessor
    with ThreadPoolExecutor(8) as pool:
        lodged = list(pool.map(lambda n: lodge(10 + n), range(8)))
    assert all(d["score"] >= 0.5 for d in lodged)
    assert sorted(d["channel"] for d in lodged) == ["orange"] * 7 + ["red"]


def test_more_lodgements_at_once_than_store_connections_each_on_a_new_day_all_go_through(
    client, tmp_path, monkeypatch
):
    """A lodgement on a day not yet forecast reads the office's past days inside its write
    transaction: through its own connection, or 24 of them at once, each holding one and
    waiting for a second, would empty the pool and wait until it gave up."""
    lodge = shoes_under_capacity(client, tmp_path, monkeypatch, reds_a_day=1)
    lodge(99, day="2025-02-01")  # the server's first lodgement builds the assessor
    with ThreadPoolExecutor(24) as pool:
        lodged = list(pool.map(lambda n: lodge(n, day=f"2025-04-{n + 1:02d}"), range(24)))
    assert [d.get("channel") for d in lodged] == ["red"] * 24, lodged


def test_reasons_are_said_in_the_language_asked_english_by_default_and_given_as_data(
    client, tmp_path, monkeypatch
):
    always = tmp_path / "routing.yaml"  # every declaration a random pick: a route.random reason
    always.write_text(
        yaml.safe_dump(yaml.safe_load(DEFAULT_CONFIG.read_text()) | {"random": {"rate": 1.0}})
    )
    monkeypatch.setenv("TAMIS_ROUTING_CONFIG", str(always))
    lodged = client.post("/api/declarations", json=DECLARATION).json()
    url = "/api/declarations/D-API-1/assessment"
    stored = [next(r for r in lodged["reason_codes"] if r["code"] == "route.random")]
    assert stored[0] | {"office": "CASA-PORT", "rate": 1.0} == stored[0]
    english = [r for r in lodged["reasons"] if r.startswith("random selection: draw ")]
    assert english == [render(stored[0], "en")] and english[0].endswith(
        "under rate 1.0 for office CASA-PORT (exploration, deterrence)"
    )
    assert any("R-WEAPONS" in r for r in lodged["reasons"])
    for asked, language in (
        (None, "en"),
        ("fr", "fr"),
        ("fr-FR,fr;q=0.9,en;q=0.8", "fr"),
        ("de-DE, en;q=0.3, fr;q=0.5", "fr"),
        ("de", "en"),
        ("fr;q=0, en;q=0.1", "en"),
    ):
        headers = {"Accept-Language": asked} if asked else {}
        body = client.get(url, headers=headers).json()
        assert body["reason_codes"] == lodged["reason_codes"], asked
        assert body["reasons"] == [render(r, language) for r in body["reason_codes"]], asked
    french = client.get(url, headers={"Accept-Language": "fr"}).json()["reasons"]
    assert any(r.startswith("sélection aléatoire : tirage ") for r in french)
    assert all(parse(r) is None and not r.startswith("{") for r in french)


def test_a_decision_stored_before_reasons_had_codes_reads_as_it_was_written(client):
    client.post("/api/declarations", json=DECLARATION)
    old = ["rule R-WEAPONS: weapons and ammunition (forced red)", "new importer (3 months)"]
    with client.app.state.engine.begin() as conn:
        conn.execute(decisions.update().values(reasons=json.dumps(old)))
    for language in ("en", "fr"):
        body = client.get(
            "/api/declarations/D-API-1/assessment", headers={"Accept-Language": language}
        ).json()
        assert body["reasons"] == old
        assert body["reason_codes"] == [{"text": r} for r in old]


def test_rule_sets_through_the_api(client):
    assert client.get("/api/rules").json()["version"] is None
    rule = {
        "id": "R1",
        "description": "all from CN",
        "weight": 0.9,
        "criteria": [{"field": "origin_country", "equals": "CN"}],
    }
    created = client.post("/api/rules", json={"rules": [rule]})
    assert created.status_code == 201
    version = created.json()["version"]
    body = client.post("/api/declarations", json=DECLARATION).json()
    assert body["rule_set_version"] == version and body["score"] == pytest.approx(0.9)
    bad = client.post("/api/rules", json={"rules": [rule | {"weight": 3}]})
    assert bad.status_code == 422 and "rule R1" in bad.json()["detail"][0]["msg"]
    second = client.post("/api/rules", json={"rules": [rule | {"weight": 0.5}]})
    diff = client.get(f"/api/rules/diff?old={version}&new={second.json()['version']}").json()
    assert diff["changed"] == {"R1": {"weight": [0.9, 0.5]}}


def test_tamis_serve_answers_health_and_lodgement_over_http(tmp_path):
    env = os.environ | {"TAMIS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    with serving(env) as base:
        assert httpx.post(f"{base}/api/declarations", json=DECLARATION).status_code == 401
        added = subprocess.run(
            [TAMIS, "users", "add", "amina", "--role", "analyst", "--password-stdin"],
            input="a long enough password\n",
            env=env,
            capture_output=True,
            text=True,
        )
        assert added.returncode == 0, added.stderr
        login = {"username": "amina", "password": "a long enough password"}
        token = httpx.post(f"{base}/api/auth/login", json=login).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        lodged = httpx.post(f"{base}/api/declarations", json=DECLARATION, headers=headers)
        assert lodged.status_code == 201 and lodged.json()["channel"] == "red"


def test_two_server_processes_lodge_and_both_use_rules_changed_through_either(tmp_path):
    env = os.environ | {"TAMIS_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    with serving(env, options=("--workers", "2")) as base:
        added = subprocess.run(
            [TAMIS, "users", "add", "amina", "--role", "admin", "--password-stdin"],
            input="a long enough password\n", env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        login = {"username": "amina", "password": "a long enough password"}
        token = httpx.post(f"{base}/api/auth/login", json=login).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}

        def lodge(n: int) -> dict:
            body = DECLARATION | {"declaration_id": f"D-W-{n}"}
            lodged = httpx.post(f"{base}/api/declarations", json=body, headers=headers, timeout=60)
            assert lodged.status_code == 201, lodged.text
            return lodged.json()

        before = {lodge(n)["rule_set_version"] for n in range(8)}
        rule = {"id": "R-CN", "description": "all from CN", "weight": 0.9,
                "criteria": [{"field": "origin_country", "equals": "CN"}]}  # fmt: skip
        version = httpx.post(f"{base}/api/rules", json={"rules": [rule]}, headers=headers)
        assert version.status_code == 201, version.text
        time.sleep(1.2)  # a process looks for rules changed elsewhere once a second
        after = {lodge(n)["rule_set_version"] for n in range(8, 24)}
        assert after == {version.json()["version"]} and after != before


def test_a_server_leaves_sqlite_checkpoints_to_a_thread_of_its_own(tmp_path):
    """Requests never pay for copying the write-ahead log back into the database: the
    server's connections do not checkpoint, its own thread does, and gives it back."""
    path = tmp_path / "store.db"
    engine = open_store(f"sqlite:///{path}")
    on_disk = f"file:{path}?immutable=1"  # the database file alone, without the log

    def stored() -> int:
        with closing(sqlite3.connect(on_disk, uri=True)) as conn:
            return conn.execute("SELECT count(*) FROM audit_trail").fetchone()[0]

    checkpointer = Checkpointer(engine)
    checkpointer.start()
    with engine.begin() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        before = stored()
        audit.record(conn, "tester", "test.write", "test", "1")
    deadline = time.monotonic() + 10
    while stored() == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stored() == before + 1
    checkpointer.stop()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000


def test_a_refused_value_is_not_said_back_whole(client):
    huge = "x" * (5 * 2**20)
    watchlist = {"name": huge, "reason": "test"}
    answer = client.post("/api/watchlists", json=watchlist)
    assert answer.status_code == 422 and len(answer.content) < 2_000
    said = answer.json()["detail"][0]
    assert said["loc"] == ["body", "name"] and said["input"].endswith("(5,242,880 characters)")
    small = client.post("/api/watchlists", json={"name": "", "reason": "test"}).json()
    assert small["detail"][0]["input"] == ""  # a short value is said back as it came


def test_a_nul_character_is_refused_with_its_field_on_every_store(client):
    declaration = DECLARATION | {"declaration_id": "D-NUL", "importer_id": "IMP\x00X"}
    answer = client.post("/api/declarations", json=declaration)
    assert answer.status_code == 422, answer.text
    assert "importer_id" in answer.text and "NUL" in answer.text
    engine = client.app.state.engine
    kept = quarantined(engine, "api:")  # each item row kept, with its reason
    assert kept["reason"].to_list() == ["contains a NUL character"] * 2
    assert kept["value"].to_list() == ["IMP\\x00X"] * 2


def test_one_declaration_lodged_twice_at_once_is_201_then_409_never_500(client):
    import threading

    declaration = DECLARATION | {"declaration_id": "D-RACE"}
    token = {"Authorization": client.headers["Authorization"]}
    statuses = []
    for round_ in range(6):
        racing = declaration | {"declaration_id": f"D-RACE-{round_}"}
        # sent again with another date, it is the same declaration all the same (PostgreSQL
        # partitions by month, so its primary key alone cannot tell)
        redated = racing | {"lodged_at": "2025-04-02T10:00:00"} if round_ % 2 else racing
        gate = threading.Barrier(2)

        def lodge(body, gate=gate):
            gate.wait()
            statuses.append(client.post("/api/declarations", json=body, headers=token).status_code)

        threads = [threading.Thread(target=lodge, args=(b,)) for b in (racing, redated)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(statuses) == [201] * 6 + [409] * 6


def test_a_declaration_ingested_and_lodged_at_once_is_stored_once(client, tmp_path, monkeypatch):
    """A lodgement of a declaration that a file being ingested holds, with another date,
    waits for the file's batch and is refused as already lodged (PostgreSQL's key holds the
    month: without the wait both would be stored)."""
    import threading

    from sqlalchemy import func, select

    from tamis.ingest import ingest, pipeline
    from tamis.store.tables import declarations

    engine = client.app.state.engine
    stored, go = threading.Event(), threading.Event()
    keep = pipeline.keep

    def keep_then_pause(*args, **kwargs):  # inside the batch's transaction, rows written
        keep(*args, **kwargs)
        stored.set()
        go.wait(30)

    monkeypatch.setattr(pipeline, "keep", keep_then_pause)
    path = tmp_path / "batch.csv"
    path.write_text(
        "declaration_id,lodged_at,office,importer_id,item_number,hs_code,origin_country,"
        "customs_value\nD-BOTH,2025-03-01 10:00:00,CASA-PORT,IMP1,1,6403990000,CN,100\n"
    )
    ingesting = threading.Thread(target=ingest, args=(path, "canonical", engine))
    ingesting.start()
    assert stored.wait(30)
    answer = {}
    body = DECLARATION | {"declaration_id": "D-BOTH", "lodged_at": "2025-04-02T10:00:00"}
    lodging = threading.Thread(
        target=lambda: answer.update(status=client.post("/api/declarations", json=body))
    )
    lodging.start()
    lodging.join(1.0)
    assert lodging.is_alive(), "the lodgement waits for the batch being loaded"
    go.set()
    ingesting.join(30)
    lodging.join(30)
    assert answer["status"].status_code == 409, answer["status"].text
    with engine.connect() as conn:
        held = select(func.count()).where(declarations.c.declaration_id == "D-BOTH")
        assert conn.execute(held).scalar() == 1


def test_the_interactive_docs_load_nothing_from_elsewhere_unless_asked(store_url, monkeypatch):
    from fastapi.testclient import TestClient

    from tamis.api.app import create_app

    plain = TestClient(create_app(store_url))
    assert plain.get("/docs").status_code == 404 and plain.get("/redoc").status_code == 404
    assert plain.get("/openapi.json").status_code == 200  # the schema itself stays
    monkeypatch.setenv("TAMIS_API_DOCS", "true")
    asked = TestClient(create_app(store_url))
    assert asked.get("/docs").status_code == 200


def test_an_implausible_figure_is_refused_with_its_reason(client):
    huge = DECLARATION | {
        "declaration_id": "D-API-HUGE",
        "items": [DECLARATION["items"][0] | {"duty_rate": 1e308}, DECLARATION["items"][1]],
    }
    answer = client.post("/api/declarations", json=huge)
    assert answer.status_code == 422
    assert "implausibly large value" in answer.text and "duty_rate" in answer.text


def test_rules_changed_by_another_process_reach_the_next_lodgement(client, store_url, monkeypatch):
    """A rule set applied from the command line (or through a second server) is used by
    this server's lodgements within a second, without a restart."""
    from tamis import rulesets
    from tamis.api import app as api
    from tamis.detectors.rules import parse_rule_set

    monkeypatch.setattr(api, "IN_FORCE_SECONDS", 0.0)
    first = client.post("/api/declarations", json=DECLARATION).json()
    rule = {"id": "R-CN", "description": "all from CN", "weight": 0.9,
            "criteria": [{"field": "origin_country", "equals": "CN"}]}  # fmt: skip
    engine = open_store(store_url)  # another process's own connection to the store
    version = rulesets.apply(engine, parse_rule_set({"rules": [rule]}), "someone", "from the CLI")
    engine.dispose()
    second = client.post("/api/declarations", json=DECLARATION | {"declaration_id": "D-API-2"})
    assert second.json()["rule_set_version"] == version != first["rule_set_version"]
    assert second.json()["score"] == pytest.approx(0.9)


def test_a_watchlist_made_by_another_process_reaches_the_next_lodgement(
    client, store_url, monkeypatch
):
    from tamis.api import app as api
    from tamis.cases import watchlists

    monkeypatch.setattr(api, "IN_FORCE_SECONDS", 0.0)
    first = client.post("/api/declarations", json=DECLARATION).json()
    engine = open_store(store_url)  # another process's own connection to the store
    shoes = watchlists.WatchlistIn(name="shoes", reason="a tip-off on footwear",
                                   hs_prefixes=["6403"], route_channel="red")  # fmt: skip
    watchlists.create(engine, shoes, "someone")
    engine.dispose()
    second = client.post("/api/declarations", json=DECLARATION | {"declaration_id": "D-API-2"})
    assert not any("a tip-off on footwear" in said for said in first["reasons"])
    assert any("a tip-off on footwear" in said for said in second.json()["reasons"]), second.text


def test_a_lodgement_that_spends_no_place_does_not_wait_for_its_office_day(
    postgres_url, tmp_path, monkeypatch
):
    """While another transaction holds an office's day (as a red lodgement does while it
    counts the day's reds), a declaration routed green there is lodged at once; a red one
    waits its turn and then gets its place."""
    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, text

    from tamis.api.app import create_app

    benign = DECLARATION | {"importer_id": "IMP-OLD", "items": [{
        "item_number": 1, "hs_code": "8471300000", "origin_country": "FR",
        "customs_value": "50000", "net_mass_kg": 120, "description": "laptops"}]}  # fmt: skip
    with TestClient(create_app(postgres_url)) as client:
        client.headers.update(login(client, "admin"))
        lodge = shoes_under_capacity(client, tmp_path, monkeypatch, reds_a_day=5)
        routing = tmp_path / "routing.yaml"  # a new importer alone (0.3) stays blue
        config = yaml.safe_load(routing.read_text())
        routing.write_text(yaml.safe_dump(config | {"thresholds": config["thresholds"] | {
            "yellow": 0.35}}))  # fmt: skip
        assert lodge(99, day="2025-03-01")["channel"] == "red"  # builds the assessor
        green = client.post("/api/declarations", json=benign | {"declaration_id": "D-G-0"})
        assert green.json()["channel"] in ("green", "blue"), green.json()
        holder = create_engine(postgres_url)
        with ThreadPoolExecutor(2) as pool:
            with holder.connect() as conn:
                conn.execute(text("SELECT taken FROM capacity_locks WHERE day = '2025-03-01' "
                                  "FOR UPDATE"))  # fmt: skip
                red = pool.submit(lodge, 1, day="2025-03-01")
                try:
                    lodged = pool.submit(
                        client.post, "/api/declarations",
                        json=benign | {"declaration_id": "D-G-1"},
                    ).result(timeout=60)  # fmt: skip
                    red_waited = not red.done()
                finally:
                    conn.rollback()  # the day let go: the red one counts it, takes its place
            assert lodged.status_code == 201 and red_waited
            assert red.result(timeout=60)["channel"] == "red"
        holder.dispose()
