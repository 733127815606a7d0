"""The safe case workflow, over the API and the pages: a case closes through its result or,
with its reason, without inspection; nothing destructive is preselected; an inspection
is never dated in the future; corrections show with their effect on revenue; an inspector
acts on their own cases and on the unassigned ones of their office, never on another's."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tamis import audit, users
from tamis.cases import cases
from tamis.cli import app as cli
from tamis.store.tables import items
from tamis.web.i18n import Translator
from tests.conftest import PASSWORD, login
from tests.stores import assessed_store

FUTURE = "2030-01-01T10:00:00"
SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})  # Babel's narrow and no-break spaces


@pytest.fixture
def app(anonymous, tmp_path):
    """The app's client on a store with assessed declarations and their open cases."""
    assessed_store(anonymous.app.state.engine, tmp_path, declarations=300)
    anonymous.follow_redirects = False
    return anonymous


def _open_case(engine, office: str | None = None) -> dict:
    queue = cases.queue(engine, status="open", limit=1000)
    return next(c for c in queue if office in (None, c["office"]))


def _browser(client, username: str, role: str, office: str | None = None) -> str:
    """Log in through the form as ``username`` (created with its office): the CSRF token."""
    engine = client.app.state.engine
    if username not in {u["username"] for u in users.list_users(engine)}:
        users.add_user(engine, username, role, PASSWORD, "test", office=office)
    client.cookies.clear()
    answer = client.post("/login", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 303
    page = client.get("/", follow_redirects=True).text
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)[1]


def _said(page: str) -> str:
    return html.unescape(page).translate(SPACES)


class Controls(HTMLParser):
    """The form controls of a page, each with whether a label names it."""

    def __init__(self) -> None:
        super().__init__()
        self.labels_for: set[str] = set()
        self.in_label = 0
        self.controls: list[tuple[dict, bool]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "label":
            self.in_label += 1
            if attrs.get("for"):
                self.labels_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea") and attrs.get("type") != "hidden":
            self.controls.append((attrs, bool(self.in_label or attrs.get("aria-label"))))

    def handle_endtag(self, tag):
        if tag == "label":
            self.in_label -= 1

    def unlabelled(self) -> list[dict]:
        named = self.labels_for
        return [a for a, inside in self.controls if not inside and a.get("id") not in named]


def _select(page: str, name: str) -> str:
    return re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.S)[0]


def test_the_api_closes_a_case_only_through_a_result_or_with_the_reason_said(app):
    engine = app.app.state.engine
    admin = login(app, "admin")
    case = _open_case(engine)
    path = f"/api/cases/{case['case_id']}"
    for body in ({"status": "closed"}, {"status": "closed", "reason": "   "}):
        refused = app.post(f"{path}/status", json=body, headers=admin)
        assert refused.status_code == 409 and "reason" in refused.json()["detail"]
        assert "inspection result" in refused.json()["detail"]
    assert app.get(path, headers=admin).json()["status"] == "open"
    why = "goods re-exported under customs control before inspection"
    closed = app.post(f"{path}/status", json={"status": "closed", "reason": why}, headers=admin)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed" and closed.json()["closure_reason"] == why
    assert closed.json()["closed_at"] and closed.json()["results"] == []
    [entry] = [
        e
        for e in audit.entries(engine, entity="case", entity_id=str(case["case_id"]))
        if e["action"] == "case.close_without_inspection"
    ]
    assert entry["actor"] == "admin-user" and entry["after"]["closure_reason"] == why
    assert entry["before"]["status"] == "open"
    found = {"result": "compliant"}
    assert app.post(f"{path}/result", json=found, headers=admin).status_code == 409
    reopened = app.post(f"{path}/status", json={"status": "open"}, headers=admin).json()
    assert reopened["status"] == "open" and reopened["closure_reason"] is None
    again = app.post(f"{path}/result", json=found, headers=admin)
    assert again.json()["status"] == "closed" and again.json()["closure_reason"] is None


def test_an_inspection_dated_in_the_future_is_refused_by_the_api_and_the_page(app):
    engine = app.app.state.engine
    case = _open_case(engine)
    admin = login(app, "admin")
    found = {"result": "compliant", "inspected_at": FUTURE}
    refused = app.post(f"/api/cases/{case['case_id']}/result", json=found, headers=admin)
    assert refused.status_code == 422 and "future" in refused.text
    token = _browser(app, "analyst-web", "analyst")
    url = f"/cases/{case['case_id']}/result"
    form = {"csrf_token": token, "result": "compliant", "inspected_at": "2030-01-01T10:00"}
    french = app.post(url, data=form)
    assert french.status_code == 422
    assert "ne peut pas être dans le futur" in html.unescape(french.text)
    english = app.post(url, data=form, headers={"accept-language": "en"})
    assert "cannot be dated in the future" in english.text
    assert cases.get_case(engine, case["case_id"])["results"] == []
    today = audit.now().strftime("%Y-%m-%dT%H:%M")
    kept = app.post(url, data=form | {"inspected_at": today})
    assert kept.status_code == 303


def test_the_case_page_preselects_nothing_offers_no_plain_close_and_labels_every_control(app):
    engine = app.app.state.engine
    case = _open_case(engine)
    token = _browser(app, "analyst-web", "analyst")
    page = app.get(f"/cases/{case['case_id']}").text
    status = _select(page, "status")
    assert 'value="closed"' not in status
    assert re.match(r'<select[^>]*>\s*<option value="" selected>', status)
    assignee = _select(page, "assignee")
    assert re.match(r'<select[^>]*>\s*<option value="" selected>', assignee)
    assert assignee.count("selected") == 1  # nobody is assigned: the placeholder only
    controls = Controls()
    controls.feed(page)
    assert controls.controls and controls.unlabelled() == []
    assert f'href="/declarations/{case["declaration_id"]}"' in page
    assert re.search(r'id="case-importer"><a href="/importers/[^"]+"', page)

    url = f"/cases/{case['case_id']}/status"
    plain = app.post(url, data={"csrf_token": token, "status": "closed"})
    assert plain.status_code == 409
    assert "pour le clore sans contrôle, indiquez-en le motif" in html.unescape(plain.text)
    nothing = app.post(url, data={"csrf_token": token, "status": ""})
    assert nothing.status_code == 422 and "Choisissez le nouveau statut" in nothing.text
    assert cases.get_case(engine, case["case_id"])["status"] == "open"

    why = "déclaration annulée à la demande du déclarant"
    closed = app.post(url, data={"csrf_token": token, "status": "closed", "reason": why})
    assert closed.status_code == 303
    shown = html.unescape(app.get(f"/cases/{case['case_id']}").text)
    assert "Clos sans contrôle le" in shown and why in shown
    assert 'id="result-form"' not in shown and 'id="close-form"' not in shown
    english = app.get(f"/cases/{case['case_id']}", headers={"accept-language": "en"}).text
    assert "Closed without inspection on" in english
    trail = audit.entries(engine, entity="case", entity_id=str(case["case_id"]))
    assert trail[-1]["action"] == "case.close_without_inspection"
    assert trail[-1]["actor"] == "analyst-web" and trail[-1]["after"]["closure_reason"] == why

    cases.assign(engine, case["case_id"], "analyst-web", "test")
    assigned = _select(app.get(f"/cases/{case['case_id']}").text, "assignee")
    assert assigned.count("selected") == 1 and '<option value="analyst-web" selected>' in assigned


def test_corrections_and_their_effect_on_revenue_show_on_the_case_and_the_declaration(app):
    engine = app.app.state.engine
    case = _open_case(engine)
    with engine.connect() as conn:
        declared = conn.execute(
            select(items.c.customs_value_minor, items.c.hs_code, items.c.origin_country).where(
                items.c.declaration_id == case["declaration_id"], items.c.item_number == 1
            )
        ).one()
    corrected = declared.customs_value_minor + 1234567  # 12 345,67 more than declared
    found = {
        "result": "non_compliant",
        "fraud_type": "valuation",
        "item_number": 1,
        "revenue_recovered": "1234.56",
        "corrected_customs_value": f"{corrected / 100:.2f}",
        "corrected_hs_code": "6403999000",
        "corrected_origin": "VN",
    }
    admin = login(app, "admin")
    recorded = app.post(f"/api/cases/{case['case_id']}/result", json=found, headers=admin)
    assert recorded.status_code == 200, recorded.text
    _browser(app, "auditor-web", "auditor")
    for language, added, revenue in (
        ("fr", "+12 345,67 MAD", "1 234,56 MAD"),
        ("en", "+12,345.67 MAD", "1,234.56 MAD"),
    ):
        t = Translator(language)
        values = [_said(t.currency(v)) for v in (declared.customs_value_minor, corrected)]
        for url in (f"/cases/{case['case_id']}", f"/declarations/{case['declaration_id']}"):
            page = app.get(url, headers={"accept-language": language})
            assert page.status_code == 200
            section = _said(re.search(r'id="corrections".*?</section>', page.text, re.S)[0])
            assert added in section and revenue in section, (url, language)
            assert all(v in section for v in values), (url, language)
            assert declared.hs_code in section and "6403999000" in section
            assert declared.origin_country in section and "VN" in section
    declaration = app.get(f"/declarations/{case['declaration_id']}").text
    assert f'href="/cases/{case["case_id"]}"' in declaration
    assert 'id="declaration-cases"' in declaration


def test_an_inspector_acts_on_their_cases_and_their_office_s_unassigned_ones_only(app):
    engine = app.app.state.engine
    case = _open_case(engine)
    office = case["office"]
    others = [c for c in cases.queue(engine, status="open", limit=1000) if c["office"] != office]
    elsewhere = others[0] if others else None
    users.add_user(engine, "ines", "inspector", PASSWORD, "test", office=office)
    users.add_user(engine, "omar", "inspector", PASSWORD, "test", office="OTHER-OFFICE")
    users.add_user(engine, "karim", "inspector", PASSWORD, "test", office=office)
    ines, omar = login(app, "inspector", "ines"), login(app, "inspector", "omar")
    path = f"/api/cases/{case['case_id']}"
    note = {"text": "seals checked"}
    refused = app.post(f"{path}/notes", json=note, headers=omar)
    assert refused.status_code == 403
    assert f"unassigned at office {office}" in refused.json()["detail"]
    found = {"result": "compliant"}
    assert app.post(f"{path}/result", json=found, headers=omar).status_code == 403
    closing = {"status": "closed", "reason": "not mine to close"}
    assert app.post(f"{path}/status", json=closing, headers=omar).status_code == 403
    assert app.post(f"{path}/notes", json=note, headers=ines).status_code == 201

    token = _browser(app, "omar", "inspector")
    page = app.get(f"/cases/{case['case_id']}").text
    assert 'id="not-yours"' in page and 'id="result-form"' not in page
    posted = app.post(f"/cases/{case['case_id']}/notes", data={"csrf_token": token, "text": "x"})
    assert posted.status_code == 403

    cases.assign(engine, case["case_id"], "karim", "test")
    taken = app.post(f"{path}/notes", json=note, headers=ines)
    assert taken.status_code == 403 and "assigned to karim" in taken.json()["detail"]
    token = _browser(app, "ines", "inspector")
    form = {"csrf_token": token, "status": "in_inspection"}
    assert app.post(f"/cases/{case['case_id']}/status", data=form).status_code == 403
    karim = login(app, "inspector", "karim")
    assert app.post(f"{path}/notes", json=note, headers=karim).status_code == 201
    assert app.post(f"{path}/notes", json=note, headers=login(app, "supervisor")).status_code == 201
    if elsewhere:  # an inspector with no office takes no unassigned case
        nowhere = login(app, "inspector", "nadia")
        there = f"/api/cases/{elsewhere['case_id']}/notes"
        assert app.post(there, json=note, headers=nowhere).status_code == 403


def test_an_office_is_given_at_creation_changed_audited_and_listed(store_url, monkeypatch):
    from tamis.store import open_store

    monkeypatch.setenv("TAMIS_DATABASE_URL", store_url)
    runner = CliRunner()
    added = runner.invoke(
        cli,
        ["users", "add", "salma", "--role", "inspector", "--office", "CASA-PORT",
         "--password-stdin"],
        input=f"{PASSWORD}\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    listed = json.loads(runner.invoke(cli, ["users", "list", "--json"]).output)
    assert [u["office"] for u in listed if u["username"] == "salma"] == ["CASA-PORT"]
    engine = open_store(store_url)
    users.set_office(engine, "salma", " TANGER-MED ", "admin")
    user = users.authenticate(engine, "salma", PASSWORD)
    assert user.office == "TANGER-MED"
    entry = audit.entries(engine, entity="user", entity_id="salma")[-1]
    assert entry["action"] == "user.office" and entry["before"] == {"office": "CASA-PORT"}
    users.set_office(engine, "salma", "", "admin")
    assert users.authenticate(engine, "salma", PASSWORD).office is None
    with pytest.raises(users.UserError, match="office"):
        users.set_office(engine, "salma", "X" * 65, "admin")
    with pytest.raises(users.UserError, match="no user"):
        users.set_office(engine, "nobody", "CASA-PORT", "admin")
    engine.dispose()
