"""Authentication, roles and the audit trail, as users and auditors meet them."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from tamis import audit, users
from tamis.cli import app as cli
from tests.conftest import PASSWORD, login

ROLES = [role.value for role in users.Role]


ALL = set(ROLES)
READERS = {"admin", "analyst", "inspector", "supervisor", "auditor"}
TARGETERS = {"admin", "analyst"}
FIELD = {"admin", "analyst", "inspector", "supervisor"}
SUPERVISORS = {"admin", "supervisor"}
# Every route under /api/ and the roles that may use it: a new route must be added here.
ROUTES = {
    "POST /api/auth/logout": ALL,
    "GET /api/auth/me": ALL,
    "POST /api/declarations": TARGETERS,
    "GET /api/declarations/{declaration_id}/assessment": READERS,
    "POST /api/declarations/{declaration_id}/channel": FIELD,
    "GET /api/rules": READERS,
    "POST /api/rules": {"admin"},
    "GET /api/rules/versions": READERS,
    "GET /api/rules/diff": READERS,
    "GET /api/audit-trail": {"admin", "auditor"},
    "GET /api/valuation/reference": READERS,
    "GET /api/valuation/reference/chart.png": READERS,
    "GET /api/cases": READERS,
    "POST /api/cases": TARGETERS,
    "GET /api/cases/{case_id}": READERS,
    "POST /api/cases/{case_id}/assign": TARGETERS,
    "POST /api/cases/{case_id}/status": FIELD,
    "POST /api/cases/{case_id}/notes": FIELD,
    "POST /api/cases/{case_id}/attachments": FIELD,
    "GET /api/attachments/{attachment_id}": READERS,
    "POST /api/cases/{case_id}/result": FIELD,
    "POST /api/declarations/{declaration_id}/inspection": FIELD,
    "GET /api/importers/{importer_id}": READERS,
    "GET /api/watchlists": READERS,
    "POST /api/watchlists": TARGETERS,
    "PUT /api/watchlists/{watchlist_id}": TARGETERS,
    "POST /api/watchlists/{watchlist_id}/run": TARGETERS,
    "GET /api/watchlists/{watchlist_id}/report": READERS,
    "GET /api/post-clearance/selections": READERS,
    "POST /api/post-clearance/selections": TARGETERS,
    "GET /api/post-clearance/selections/{selection_id}": READERS,
    "GET /api/assistance": {"admin", "analyst", "auditor", "partner"},
    "POST /api/assistance": TARGETERS,
    "GET /api/assistance/{request_id}": {"admin", "analyst", "auditor", "partner"},
    "POST /api/assistance/{request_id}/answer": {"admin", "analyst", "partner"},
    "POST /api/assistance/{request_id}/close": TARGETERS,
    "GET /api/network/{entity}": READERS,
    "GET /api/network/{entity}/chart.png": READERS,
    "GET /api/entities/{entity}": READERS,
    "POST /api/entities/decisions": TARGETERS,
    "POST /api/transit/messages": FIELD | {"partner"},
    "GET /api/transit/movements": ALL,
    "GET /api/transit/movements/{mrn}": ALL,
    "GET /api/transit/alerts": ALL,
    "GET /api/transit/outbox": {"partner"},
    "POST /api/transit/check": TARGETERS,
    "PUT /api/transit/guarantees/{guarantee}": {"admin"},
    "GET /api/offences": READERS,
    "POST /api/offences": FIELD,
    "POST /api/offences/from-inspection/{declaration_id}": FIELD,
    "GET /api/offences/alerts": READERS,
    "GET /api/offences/{offence_id}": READERS,
    "GET /api/offences/{offence_id}/replay": READERS,
    "POST /api/offences/{offence_id}/settlement": FIELD,
    "POST /api/offences/{offence_id}/settlement/decision": SUPERVISORS,
    "POST /api/offences/{offence_id}/settlement/acceptance": FIELD,
    "POST /api/offences/{offence_id}/court": SUPERVISORS,
    "POST /api/offences/{offence_id}/judgment": SUPERVISORS,
    "POST /api/offences/{offence_id}/watchlist": TARGETERS,
    "POST /api/offences/{offence_id}/payments": FIELD,
    "GET /api/log/checkpoint": ALL,
    "GET /api/log/proof/inclusion": ALL,
    "GET /api/log/proof/consistency": ALL,
    "POST /api/witness/add-checkpoint": {"admin", "partner"},
    "POST /api/declarations/{declaration_id}/documents": FIELD,
    "GET /api/declarations/{declaration_id}/documents": READERS,
    "GET /api/documents/{document_id}": READERS,
    "GET /api/documents/{document_id}/check": READERS,
    "GET /api/documents/{document_id}/proof": READERS,
    "POST /api/declarations/{declaration_id}/document-requests": FIELD,
    "POST /api/declarations/{declaration_id}/remote-decision": FIELD,
    "POST /api/credentials": TARGETERS,
    "POST /api/credentials/verify": READERS | {"partner"},
    "GET /api/credentials/issuer": READERS | {"partner"},
    "GET /api/credentials/status/{list_id}": READERS | {"partner"},
    "POST /api/credentials/{credential_id}/revoke": TARGETERS,
    "GET /api/social/sellers": TARGETERS,
    "GET /api/social/sellers/{seller_id}": TARGETERS,
    "GET /api/social/importers/{importer_id}/sellers": TARGETERS,
    "POST /api/social/sellers/{seller_id}/case": TARGETERS,
    "POST /api/social/sellers/{seller_id}/watchlist": TARGETERS,
    "POST /api/social/exports": TARGETERS,
    "POST /api/social/purge": {"admin"},
}


def _api_operations(app) -> set[str]:
    return {
        f"{method.upper()} {path}"
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/") and path != "/api/auth/login"
        for method in operations
    }


def test_every_api_route_but_login_needs_credentials_and_checks_the_role(anonymous):
    assert _api_operations(anonymous.app) == set(ROUTES)
    tokens = {role: login(anonymous, role) for role in ROLES}
    for operation, allowed in ROUTES.items():
        method, path = operation.split()
        url = re.sub(r"\{[^}]+\}", "1", path)
        response = anonymous.request(method, url)
        assert response.status_code == 401, f"{operation}: {response.status_code}"
        assert response.headers["www-authenticate"] == "Bearer"
        for role in ROLES:
            status = anonymous.request(method, url, headers=tokens[role]).status_code
            if role in allowed:
                assert status not in (401, 403), f"{operation} as {role}: {status}"
            else:
                assert status == 403, f"{operation} as {role}: {status}"
        if operation == "POST /api/auth/logout":
            tokens = {role: login(anonymous, role) for role in ROLES}


def test_login_me_logout_and_a_bad_password(anonymous):
    headers = login(anonymous, "analyst", "amina")
    me = anonymous.get("/api/auth/me", headers=headers)
    assert me.json() == {"username": "amina", "role": "analyst", "partner": None}
    wrong = anonymous.post("/api/auth/login", json={"username": "amina", "password": "nope"})
    unknown = anonymous.post("/api/auth/login", json={"username": "ghost", "password": "x"})
    assert wrong.status_code == unknown.status_code == 401
    assert anonymous.post("/api/auth/logout", headers=headers).status_code == 204
    assert anonymous.get("/api/auth/me", headers=headers).status_code == 401


def test_the_browser_cookie_works_like_the_bearer_token(anonymous):
    login(anonymous, "inspector", "karim")
    assert anonymous.get("/api/auth/me").status_code == 401
    anonymous.post("/api/auth/login", json={"username": "karim", "password": PASSWORD})
    assert anonymous.cookies.get("tamis_session")
    assert anonymous.get("/api/auth/me").json()["username"] == "karim"


def test_a_disabled_or_reset_user_loses_their_sessions(anonymous):
    engine = anonymous.app.state.engine
    headers = login(anonymous, "inspector", "karim")
    users.reset_password(engine, "karim", "another long password", actor="admin-user")
    assert anonymous.get("/api/auth/me", headers=headers).status_code == 401
    assert users.authenticate(engine, "karim", PASSWORD) is None
    assert users.authenticate(engine, "karim", "another long password").username == "karim"
    users.disable_user(engine, "karim", actor="admin-user")
    assert users.authenticate(engine, "karim", "another long password") is None


def test_sessions_expire(anonymous, monkeypatch):
    monkeypatch.setenv("TAMIS_SESSION_HOURS", "-1")
    response = anonymous.post("/api/auth/login", json={"username": "x", "password": "y"})
    assert response.status_code == 401
    engine = anonymous.app.state.engine
    user = users.add_user(engine, "brief", "auditor", PASSWORD, actor="test")
    token, _ = users.open_session(engine, user)
    assert users.user_for_token(engine, token) is None


def test_passwords_are_argon2_hashes_never_the_password(store):
    users.add_user(store, "amina", "analyst", PASSWORD, actor="test")
    with store.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users")).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize(
    "args, message",
    [
        (("x y", "analyst", PASSWORD), "no space"),
        (("amina", "chief", PASSWORD), "role 'chief'"),
        (("amina", "analyst", "short"), "at least 10"),
        (("amina", "analyst", " " * 12), "at least 10"),  # spaces are not a password
        (("amina", "analyst", "password1234"), "password: This is a very common password"),
        (("amina", "analyst", "Amina.2025"), "too easy to guess"),  # her own name and a year
        (("amina", "analyst", "azertyuiop12"), "similar to a commonly used password"),
        (("amina", "partner", PASSWORD), "partner"),
    ],
)
def test_bad_users_are_refused_with_the_reason(store, args, message):
    with pytest.raises(users.UserError, match=message):
        users.add_user(store, *args, actor="test")


def test_users_cli_add_disable_reset_with_password_on_stdin(tmp_path, monkeypatch):
    monkeypatch.setenv("TAMIS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    runner = CliRunner()
    added = runner.invoke(
        cli, ["users", "add", "amina", "--role", "analyst", "--password-stdin"], input=PASSWORD
    )
    assert added.exit_code == 0, added.output
    taken = runner.invoke(
        cli, ["users", "add", "amina", "--role", "analyst", "--password-stdin"], input=PASSWORD
    )
    assert taken.exit_code == 2 and "taken" in taken.output
    reset = runner.invoke(
        cli, ["users", "reset", "amina", "--password-stdin"], input="a new long password\n"
    )
    assert reset.exit_code == 0, reset.output
    assert runner.invoke(cli, ["users", "disable", "amina"]).exit_code == 0
    listed = json.loads(runner.invoke(cli, ["users", "list", "--json"]).output)
    assert listed[0]["username"] == "amina" and listed[0]["active"] == 0
    assert "password_hash" not in listed[0]
    out = tmp_path / "trail.csv"
    exported = runner.invoke(cli, ["audit-trail", "--entity", "user", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    actions = [line.split(",")[3] for line in out.read_text().splitlines()[1:]]
    assert actions == ["user.add", "user.reset", "user.disable"]


def test_the_audit_trail_is_append_only_and_auditors_read_it(client, store_url):
    engine = client.app.state.engine
    raise_ = {"channel": "red", "reason": "tip-off"}
    client.post("/api/rules", json={"rules": [], "comment": "empty"})
    assert client.post("/api/declarations/NOPE/channel", json=raise_).status_code == 404
    auditor = login(client, "auditor", "inès")
    trail = client.get("/api/audit-trail", headers=auditor, params={"entity": "rule_set"})
    assert trail.status_code == 200
    [entry] = trail.json()
    assert entry["actor"] == "admin-user" and entry["after"]["comment"] == "empty"
    for statement in ("UPDATE audit_trail SET actor = 'nobody'", "DELETE FROM audit_trail"):
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert audit.entries(engine, entity="rule_set")[0]["actor"] == "admin-user"
