"""Administration pages over HTTP: users (add, disable, reset, role, partner, office) for
administrators, the audit trail (filters, totals, pages, export) for administrators and
auditors, and promoting or rolling back a model with its reason."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import polars as pl
import pytest

from tamis import audit, users
from tamis.learn import registry
from tamis.learn.registry import KIND
from tests.test_web import browser_login

ROLES = [role.value for role in users.Role]
ADMIN_POSTS = [
    "/admin/users",
    *(f"/admin/users/{a}" for a in ("disable", "enable", "password", "role", "partner", "office")),
]
STRONG = "granite lantern orbit pickle"


@pytest.fixture
def web(anonymous):
    anonymous.follow_redirects = False
    return anonymous


def add(web, token: str, **form) -> object:
    return web.post("/admin/users", data={"csrf_token": token, **form})


def in_english(web) -> None:
    web.cookies.set("tamis_lang", "en")


def test_an_admin_adds_a_user_and_finds_the_change_in_the_audit_trail(web):
    token = browser_login(web, "admin")
    added = add(web, token, username="nadia", role="inspector", office=" MA-CASA ", password=STRONG)
    assert added.status_code == 303 and added.headers["location"].startswith("/admin/users?")
    page = web.get(added.headers["location"]).text
    assert "Utilisateur nadia ajouté." in page
    row = re.search(r"<tr><td>nadia</td>.*?</tr>", page, re.S)[0]
    assert "inspecteur" in row and "MA-CASA" in row and date.today().strftime("%d/%m/%Y") in row
    assert STRONG not in page
    add_form = re.search(r'<form[^>]*id="add-user".*?</form>', page, re.S)[0]
    assert " selected" not in add_form  # no role is chosen for the administrator
    found = web.get("/admin/audit", params={"actor": "admin-web", "action": "user"}).text
    assert "user.add" in found and "nadia" in found and "MA-CASA" in found
    assert re.search(r"<td>office</td><td[^>]*></td><td[^>]*>MA-CASA</td>", found)
    assert "1 entrée (" in found
    assert "session.open" not in found  # the admin's own login is another action
    hostile = add(web, token, username="<b>x</b>", role="analyst", password=STRONG)
    assert hostile.status_code == 303
    listed = web.get("/admin/users").text
    assert "&lt;b&gt;x&lt;/b&gt;" in listed and "<b>x</b>" not in listed
    web.cookies.clear()
    assert web.post("/login", data={"username": "nadia", "password": STRONG}).status_code == 303


def test_a_refused_user_says_why_naming_the_field_and_keeps_what_was_typed(web):
    token = browser_login(web, "admin")
    weak = add(
        web, token, username="karim", role="analyst", office="MA-TNG", password="password123"
    )
    assert weak.status_code == 422
    assert "Mot de passe : trop facile à deviner" in weak.text
    assert 'value="karim"' in weak.text and 'value="MA-TNG"' in weak.text
    assert "password123" not in weak.text
    short = add(web, token, username="karim", role="analyst", password="short")
    assert "Mot de passe : au moins 10 caractères" in short.text
    in_english(web)
    weak = add(web, token, username="karim", role="analyst", password="qwertyuiop")
    assert weak.status_code == 422 and "Password: too easy to guess" in weak.text
    partner = add(web, token, username="karim", role="partner", password=STRONG)
    assert partner.status_code == 422 and "Partner administration: a partner user" in partner.text
    unchosen = add(web, token, username="karim", role="", password=STRONG)
    assert unchosen.status_code == 422 and "Role: choose one of the roles offered." in unchosen.text
    taken = add(web, token, username="admin-web", role="analyst", password=STRONG)
    assert "User name: this name is already taken." in taken.text
    assert "karim" not in {u["username"] for u in users.list_users(web.app.state.engine)}


def test_an_admin_changes_users_and_cannot_lock_themselves_out(web):
    engine = web.app.state.engine
    token = browser_login(web, "admin")
    assert add(web, token, username="omar", role="analyst", password=STRONG).status_code == 303

    def change(action: str, **form):
        return web.post(f"/admin/users/{action}", data={"csrf_token": token, **form})

    assert change("disable", username="omar").status_code == 303
    assert (
        change("password", username="omar", password="another granite lantern").status_code == 303
    )
    assert change("password", username="omar", password="abc").status_code == 422
    assert change("role", username="omar", role="partner").status_code == 422  # names no partner
    assert change("role", username="omar", role="partner", partner="DGDDI-FR").status_code == 303
    assert change("partner", username="omar", partner="AGDI-CI").status_code == 303
    assert change("office", username="omar", office="MA-CASA").status_code == 303
    assert change("enable", username="omar").status_code == 303
    assert change("role", username="omar", role="auditor").status_code == 303
    omar = next(u for u in users.list_users(engine) if u["username"] == "omar")
    assert (omar["role"], omar["partner"], omar["office"], omar["active"]) == (
        "auditor",
        None,
        "MA-CASA",
        1,
    )
    actions = [e["action"] for e in audit.entries(engine, entity="user", entity_id="omar")]
    assert actions == [
        "user.add",
        "user.disable",
        "user.reset",
        "user.role",
        "user.partner",
        "user.office",
        "user.enable",
        "user.role",
    ]
    missing = change("disable", username="nobody")
    assert missing.status_code == 422 and "cet utilisateur n’existe pas" in missing.text

    for refused in (
        change("disable", username="admin-web"),
        change("role", username="admin-web", role="analyst"),
    ):
        assert refused.status_code == 422
        assert "Vous ne pouvez ni vous désactiver ni vous retirer le rôle" in refused.text
    me = next(u for u in users.list_users(engine) if u["username"] == "admin-web")
    assert me["role"] == "admin" and me["active"] == 1
    assert web.get("/admin/users").status_code == 200  # still signed in


def test_only_administrators_use_the_users_page_and_auditors_read_the_trail(web):
    for role in ROLES:
        token = browser_login(web, role)
        expected = 200 if role == "admin" else 403
        assert web.get("/admin/users").status_code == expected, role
        assert web.get("/admin/audit").status_code == (200 if role in ("admin", "auditor") else 403)
        assert web.get("/admin").status_code == (200 if role in ("admin", "auditor") else 403)
        for path in ADMIN_POSTS:
            form = {"csrf_token": token, "username": "x", "role": "analyst", "password": STRONG}
            status = web.post(path, data=form).status_code
            assert (status != 403) if role == "admin" else (status == 403), (role, path)
    browser_login(web, "auditor")
    index = web.get("/admin").text
    assert 'href="/admin/audit"' in index and 'href="/admin/users"' not in index


def test_every_change_needs_the_session_csrf_token(web):
    browser_login(web, "admin")
    for path in [*ADMIN_POSTS, "/models/promote", "/models/rollback"]:
        form = {
            "username": "x",
            "role": "analyst",
            "password": STRONG,
            "version": "1",
            "reason": "why",
        }
        assert web.post(path, data=form).status_code == 403, path
        assert web.post(path, data=form | {"csrf_token": "0" * 64}).status_code == 403, path
    assert [u["username"] for u in users.list_users(web.app.state.engine)] == ["admin-web"]


def test_audit_filters_count_page_and_export_what_they_select(web):
    engine = web.app.state.engine
    with engine.begin() as conn:
        for n in range(120):
            audit.record(
                conn,
                "clerk",
                "case.note" if n % 2 else "case.assign",
                "case",
                n % 7,
                {"assignee": None},
                {"assignee": f"agent-{n}", "note": "=1+1"},
            )
    browser_login(web, "auditor")
    everything = web.get("/admin/audit", params={"actor": "clerk"}).text
    assert "120 entrées (1 à 50, les plus récentes d’abord)" in everything
    assert "Page 1 sur 3" in everything and "agent-119" in everything
    assert "agent-69" not in everything  # newest first: the 51st newest is on page 2
    second = web.get("/admin/audit", params={"actor": "clerk", "page": 2}).text
    assert "agent-69" in second and "agent-119" not in second
    notes = web.get(
        "/admin/audit",
        params={"actor": "clerk", "action": "case.note", "entity": "case", "entity_id": "3"},
    ).text
    expected = sum(1 for n in range(120) if n % 2 and n % 7 == 3)
    assert f"{expected} entrées" in notes and "case.assign" not in notes
    family = web.get("/admin/audit", params={"actor": "clerk", "action": "case"}).text
    assert "120 entrées" in family
    cut = web.get("/admin/audit", params={"actor": "clerk", "action": "cas"}).text
    assert "Aucune entrée" in cut  # a family is a whole word
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    today = date.today().isoformat()
    assert "Aucune entrée" in web.get("/admin/audit", params={"from": tomorrow}).text
    assert (
        "120 entrées"
        in web.get("/admin/audit", params={"actor": "clerk", "from": today, "to": today}).text
    )
    assert web.get("/admin/audit", params={"from": "not a day"}).status_code == 422

    exported = web.get(
        "/admin/audit", params={"actor": "clerk", "action": "case.note", "export": "csv"}
    )
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "Quand",
        "Qui",
        "Action",
        "Objet",
        "Identifiant de l’objet",
        "Avant",
        "Après",
    ]
    assert len(rows) == 61 and {r[2] for r in rows[1:]} == {"case.note"}
    assert '"agent-119"' in rows[1][6] and "'=1+1" not in rows[1][6]  # JSON, not a formula
    workbook = web.get("/admin/audit", params={"actor": "clerk", "export": "xlsx"})
    assert workbook.status_code == 200 and workbook.content[:2] == b"PK"
    assert web.get("/admin/audit", params={"export": "pdf"}).status_code == 422


def _two_models(engine) -> None:
    labelled = pl.DataFrame(
        {
            "declaration_id": ["D1", "D2"],
            "item_number": [1, 1],
            "lodged_at": [date(2025, 1, 1), date(2025, 6, 30)],
            "fraud": [0, 1],
        }
    )
    metrics = {"precision@5": 0.5, "revenue@5": 0.25}
    for comment in ("first", "second"):
        registry.save_text(engine, KIND, "{}", ["log_value"], labelled, metrics, comment)


def test_an_admin_promotes_and_rolls_back_a_model_with_a_reason(web):
    engine = web.app.state.engine
    _two_models(engine)
    token = browser_login(web, "admin")
    page = web.get("/models").text
    assert 'action="/models/promote"' in page and 'action="/models/rollback"' in page
    promote = {"csrf_token": token, "version": "2"}
    refused = web.post("/models/promote", data=promote | {"reason": "   "})
    assert refused.status_code == 422 and "Motif : dites pourquoi" in refused.text
    assert registry.active_row(engine, KIND)["version"] == 1
    done = web.post("/models/promote", data=promote | {"reason": "better revenue@5"})
    assert done.status_code == 303
    assert "La version 2 du modèle est active" in web.get(done.headers["location"]).text
    assert registry.active_row(engine, KIND)["version"] == 2
    entry = audit.entries(engine, entity="model")[-1]
    assert (entry["actor"], entry["action"], entry["entity_id"]) == (
        "admin-web",
        "model.promote",
        "2",
    )
    assert entry["before"]["active"] == 1 and entry["after"]["reason"] == "better revenue@5"
    none = web.post("/models/promote", data=promote | {"version": "99", "reason": "x"})
    assert none.status_code == 422 and "cette version de modèle n’existe pas" in none.text

    assert web.post("/models/rollback", data={"csrf_token": token}).status_code == 422
    back = web.post("/models/rollback", data={"csrf_token": token, "reason": "drift on v2"})
    assert back.status_code == 303 and registry.active_row(engine, KIND)["version"] == 1
    entry = audit.entries(engine, entity="model")[-1]
    assert entry["action"] == "model.rollback" and entry["after"]["reason"] == "drift on v2"
    trail = web.get("/admin/audit", params={"entity": "model"}).text
    assert "model.rollback" in trail and "drift on v2" in trail and "2 entrées" in trail

    for role in ("analyst", "auditor", "supervisor"):
        token = browser_login(web, role)
        page = web.get("/models").text
        assert "/models/promote" not in page and "/models/rollback" not in page
        form = {"csrf_token": token, "version": "2", "reason": "because"}
        assert web.post("/models/promote", data=form).status_code == 403
        assert web.post("/models/rollback", data=form).status_code == 403
    assert registry.active_row(engine, KIND)["version"] == 1


def test_the_models_page_names_the_national_currency(web):
    _two_models(web.app.state.engine)
    browser_login(web, "analyst")
    page = web.get("/models").text
    assert "revenu@5 (MAD)" in page and "précision@5" in page and "R€" not in page
    assert "25,0" in page and "01/01/2025" in page
    in_english(web)
    page = web.get("/models").text
    assert "revenue@5 (MAD)" in page and "€" not in page
