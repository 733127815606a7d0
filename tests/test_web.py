"""The dashboard's pages over HTTP: who may open what, forms that change things (CSRF,
validation that names the problem, the audit trail), languages."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from tamis import audit, users
from tamis.cases import cases
from tamis.detectors import registry
from tamis.detectors.registry import DETECTORS
from tamis.reasons import reason, render
from tamis.scoreboard.figures import Period, scoreboard
from tamis.store.tables import inspection_outcomes
from tamis.web import admin as admin_pages
from tamis.web import cases as case_pages
from tamis.web import declaration, learning, routes, rules
from tamis.web import importer as importer_pages
from tamis.web import lists as list_pages
from tamis.web import offences as offence_pages
from tamis.web import social as social_pages
from tamis.web import transit as transit_pages
from tests.conftest import PASSWORD
from tests.stores import assessed_store, decide_again

ROLES = [role.value for role in users.Role]
READERS = {"admin", "analyst", "inspector", "supervisor", "auditor"}
FIELD = {"admin", "analyst", "inspector", "supervisor"}
SUPERVISORS = {"admin", "supervisor"}
TARGETERS = {"admin", "analyst"}
# Every page and the roles that may use it (the API's groups): a new page must be added here.
PAGES = {
    "GET /": set(ROLES),
    "GET /scoreboard": READERS,
    "GET /declarations": READERS,
    "GET /search": READERS,
    "GET /declarations/{declaration_id}": READERS,
    "GET /declarations/{declaration_id}/items/{item_number}/reference.png": READERS,
    "GET /declarations/{declaration_id}/items/{item_number}/reference.svg": READERS,
    "GET /importers/{importer_id}": READERS,
    "GET /cases": READERS,
    "GET /cases/{case_id}": READERS,
    "POST /cases/{case_id}/result": FIELD,
    "POST /cases/{case_id}/status": FIELD,
    "POST /cases/{case_id}/notes": FIELD,
    "POST /cases/{case_id}/assign": TARGETERS,
    "GET /rules": READERS,
    "GET /rules/diff": READERS,
    "GET /rules/edit": {"admin"},
    "POST /rules": {"admin"},
    "GET /models": READERS,
    "GET /models/drift": READERS,
    "GET /transit": READERS,
    "GET /transit/{mrn}": READERS,
    "GET /offences": READERS,
    "GET /offences/{offence_id}": READERS,
    "POST /offences/from-inspection/{declaration_id}": FIELD,
    "POST /offences/{offence_id}/settlement": FIELD,
    "POST /offences/{offence_id}/decision": SUPERVISORS,
    "POST /offences/{offence_id}/acceptance": FIELD,
    "POST /offences/{offence_id}/court": SUPERVISORS,
    "POST /offences/{offence_id}/judgment": SUPERVISORS,
    "POST /offences/{offence_id}/payments": FIELD,
    "GET /offenders/{party}": READERS,
    "POST /declarations/{declaration_id}/documents": FIELD,
    "POST /declarations/{declaration_id}/document-requests": FIELD,
    "POST /declarations/{declaration_id}/remote-decision": FIELD,
    "GET /social": TARGETERS,
    "GET /social/sellers/{seller_id}": TARGETERS,
    "POST /social/sellers/{seller_id}/case": TARGETERS,
    "POST /social/sellers/{seller_id}/watchlist": TARGETERS,
    "GET /admin": {"admin", "auditor"},
    "GET /admin/users": {"admin"},
    "POST /admin/users": {"admin"},
    "POST /admin/users/disable": {"admin"},
    "POST /admin/users/enable": {"admin"},
    "POST /admin/users/password": {"admin"},
    "POST /admin/users/role": {"admin"},
    "POST /admin/users/partner": {"admin"},
    "POST /admin/users/office": {"admin"},
    "GET /admin/audit": {"admin", "auditor"},
    "POST /models/promote": {"admin"},
    "POST /models/rollback": {"admin"},
    "POST /logout": set(ROLES),
}
OPEN = {"GET /login", "POST /login", "GET /lang/{language}"}  # no session needed


def page_operations() -> set[str]:
    routers = (
        routes.router,
        declaration.router,
        importer_pages.router,
        case_pages.router,
        list_pages.router,
        rules.router,
        learning.router,
        transit_pages.router,
        offence_pages.router,
        social_pages.router,
        admin_pages.router,
    )
    return {f"{m} {r.path}" for router in routers for r in router.routes for m in r.methods}


def browser_login(client, role: str) -> str:
    """Log in through the login form as a new user of ``role``; the page's CSRF token."""
    username = f"{role}-web"
    engine = client.app.state.engine
    if username not in {u["username"] for u in users.list_users(engine)}:
        partner = "DGDDI-FR" if role == "partner" else None
        users.add_user(engine, username, role, PASSWORD, actor="test", partner=partner)
    client.cookies.clear()
    answer = client.post("/login", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 303 and client.cookies.get("tamis_session")
    return csrf_of(client)


def csrf_of(client) -> str:
    page = client.get("/", follow_redirects=True).text
    return re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)[1]


@pytest.fixture
def store(anonymous, tmp_path):
    """The app's store with a quarter of assessed, inspected declarations."""
    decided = assessed_store(anonymous.app.state.engine, tmp_path, declarations=300)
    anonymous.follow_redirects = False
    return decided


def test_every_page_redirects_strangers_to_login_and_checks_the_role(anonymous, store):
    assert page_operations() == set(PAGES) | OPEN
    red = store.filter(store["channel"] == "red")["declaration_id"][0]
    case_id = cases.queue(anonymous.app.state.engine)[0]["case_id"]
    values = {
        "declaration_id": red,
        "item_number": "1",
        "case_id": str(case_id),
        "language": "en",
        "mrn": "26MA00000000000000",
        "offence_id": "999999",  # none: the page answers 404
        "party": "IMP000001",
        "importer_id": "IMP000001",
        "seller_id": "S-0000000000",  # none: the page answers 404
    }

    def sessions() -> dict[str, tuple[str, str]]:
        return {r: (browser_login(anonymous, r), anonymous.cookies["tamis_session"]) for r in ROLES}

    logged_in = sessions()
    # an inspector acts on the cases assigned to them (or unassigned at their office)
    cases.assign(anonymous.app.state.engine, case_id, "inspector-web", "test")
    for operation, allowed in PAGES.items():
        method, path = operation.split()
        url = re.sub(r"\{([^}]+)\}", lambda m: values[m[1]], path)
        url += "?old=1&new=1&id=X" if url in ("/rules/diff", "/declarations") else ""
        anonymous.cookies.clear()
        stranger = anonymous.request(method, url)
        assert stranger.status_code == 303, operation
        assert stranger.headers["location"].startswith("/login?next=")
        for role, (token, cookie) in logged_in.items():
            anonymous.cookies.set("tamis_session", cookie)
            data = {"csrf_token": token} if method == "POST" else None
            status = anonymous.request(method, url, data=data).status_code
            if role in allowed:
                assert status not in (401, 403), f"{operation} as {role}: {status}"
            else:
                assert status == 403, f"{operation} as {role}: {status}"
        if operation == "POST /logout":
            logged_in = sessions()


def test_links_a_role_may_not_follow_are_not_shown(anonymous, store):
    browser_login(anonymous, "partner")
    home = anonymous.get("/")
    assert home.status_code == 200 and 'href="/scoreboard"' not in home.text
    browser_login(anonymous, "inspector")
    rules_page = anonymous.get("/rules").text
    assert 'href="/scoreboard"' in rules_page and 'href="/rules/edit"' not in rules_page
    browser_login(anonymous, "admin")
    assert 'href="/rules/edit"' in anonymous.get("/rules").text


def test_login_failure_safe_redirects_logout(anonymous, store):
    wrong = anonymous.post("/login", data={"username": "nobody", "password": "wrong password"})
    assert wrong.status_code == 401 and "incorrect" in wrong.text
    users.add_user(anonymous.app.state.engine, "amina", "analyst", PASSWORD, actor="test")
    away = anonymous.post(
        "/login", data={"username": "amina", "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert away.headers["location"] == "/"
    back = anonymous.post(
        "/login", data={"username": "amina", "password": PASSWORD, "next": "/rules?version=1"}
    )
    assert back.headers["location"] == "/rules?version=1"
    token = csrf_of(anonymous)
    assert anonymous.post("/logout").status_code == 403  # no CSRF token
    assert anonymous.post("/logout", data={"csrf_token": token}).status_code == 303
    assert anonymous.get("/scoreboard").status_code == 303


def test_forms_need_the_session_csrf_token_and_a_same_site_origin(anonymous, store):
    token = browser_login(anonymous, "admin")
    form = {"text": "rules: []", "comment": "empty"}
    refused = anonymous.post("/rules", data=form)
    assert refused.status_code == 403 and "rechargez" in refused.text
    forged = anonymous.post("/rules", data=form | {"csrf_token": "0" * 64})
    assert forged.status_code == 403
    cross = anonymous.post(
        "/rules", data=form | {"csrf_token": token}, headers={"origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    assert audit.entries(anonymous.app.state.engine, entity="rule_set")[-1]["after"]["version"] == 1


def test_rules_edit_refuses_bad_rules_saying_why_then_saves_a_version_with_its_diff(
    anonymous, store
):
    token = browser_login(anonymous, "admin")
    edit = anonymous.get("/rules/edit").text
    current = re.search(r"<textarea[^>]*>(.*?)</textarea>", edit, re.S)[1]
    bad = anonymous.post("/rules", data={"text": "rules:\n  - id: X\n", "csrf_token": token})
    assert bad.status_code == 422 and "Règles refusées" in bad.text and "X" in bad.text
    changed = html.unescape(current).replace("weight: 0.25", "weight: 0.45", 1)
    assert changed != html.unescape(current)
    saved = anonymous.post(
        "/rules", data={"text": changed, "comment": "tuning", "csrf_token": token}
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/rules?version=2&saved=2"
    assert "Version 2 enregistrée" in anonymous.get(saved.headers["location"]).text
    diff = anonymous.get("/rules/diff?old=1&new=2").text
    assert "0.25" in diff and "0.45" in diff
    entry = audit.entries(anonymous.app.state.engine, entity="rule_set")[-1]
    assert entry["actor"] == "admin-web" and entry["after"]["comment"] == "tuning"


def test_the_result_form_names_each_problem_then_records_and_the_scoreboard_moves(anonymous, store):
    engine = anonymous.app.state.engine
    token = browser_login(anonymous, "inspector")
    case = cases.queue(engine, status="open")[0]
    cases.assign(engine, case["case_id"], "inspector-web", "test")
    url = f"/cases/{case['case_id']}/result"
    period = Period("2025-01", "2025-03")
    before = scoreboard(engine, period)["totals"]
    typed = {"result": "non_compliant", "corrected_hs_code": "12AB", "revenue_recovered": "-5"}
    bad = anonymous.post(url, data={"csrf_token": token, **typed})
    assert bad.status_code == 422
    problems = re.search(r'id="form-errors".*?</div>', bad.text, re.S)[0]
    assert "Code SH rectifié</strong> — 6 à 10 chiffres sont attendus" in problems
    assert "Recettes redressées</strong> — doit être au moins 0" in problems
    assert 'value="12AB"' in bad.text  # what was typed is kept
    good = anonymous.post(
        url,
        data={
            "csrf_token": token,
            "result": "non_compliant",
            "fraud_type": "valuation",
            "revenue_recovered": "1 234,56",
            "fraud_notice": "PV-2025-77",
        },
    )
    assert good.status_code == 303
    page = anonymous.get(f"/cases/{case['case_id']}").text
    assert "clos" in page and "PV-2025-77" in page
    with engine.connect() as conn:
        stored = conn.execute(
            select(inspection_outcomes).where(inspection_outcomes.c.fraud_notice == "PV-2025-77")
        ).one()
    assert stored.revenue_recovered_minor == 123456 and stored.inspector == "inspector-web"
    after = scoreboard(engine, period)["totals"]
    assert after["revenue_recovered_minor"] == before["revenue_recovered_minor"] + 123456
    # the scoreboard's fraud notices are the offences recorded: one is opened from the result
    url = f"/api/offences/from-inspection/{case['declaration_id']}"
    assert anonymous.post(url).status_code == 403  # the session cookie alone changes nothing
    opened = anonymous.post(url, headers={"X-CSRF-Token": token})
    assert opened.status_code == 201, opened.text
    noticed = scoreboard(engine, period)["totals"]
    assert noticed["fraud_notices"] == before["fraud_notices"] + 1


def test_pages_speak_french_first_english_on_request(anonymous, store):
    browser_login(anonymous, "analyst")
    assert "Tableau de bord stratégique" in anonymous.get("/scoreboard").text
    english = anonymous.get("/scoreboard", headers={"accept-language": "en-GB,en;q=0.9"})
    assert "Strategic scoreboard" in english.text
    switched = anonymous.get("/lang/fr?next=/scoreboard")
    assert switched.headers["location"] == "/scoreboard"
    chosen = anonymous.get("/scoreboard", headers={"accept-language": "en"})
    assert "Tableau de bord stratégique" in chosen.text


def test_the_declaration_page_shows_reasons_data_reference_and_history(anonymous, store):
    browser_login(anonymous, "auditor")
    red = store.filter(store["channel"] == "red").row(0, named=True)
    page = anonymous.get(f"/declarations/{red['declaration_id']}")
    assert page.status_code == 200
    for stored in red["reasons"]:  # said in the page's language, French first
        said = render(stored, "fr")
        assert said.replace("'", "&#39;").replace('"', "&#34;").split(" (")[0] in page.text
    assert '{"code"' not in page.text and "&#34;code&#34;" not in page.text
    assert 'id="items"' in page.text and 'id="history"' in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    missing = anonymous.get("/declarations/NOPE")
    assert missing.status_code == 404 and "introuvable" in missing.text


def test_the_message_catalogues_have_the_same_keys():
    from tamis.web.i18n import LANGUAGES, catalogue

    keys = [set(catalogue(language)) for language in LANGUAGES]
    assert all(k == keys[0] for k in keys)


RANDOM = reason("route.random", draw=0.0123, rate=0.05, office="CASA-PORT")
OLD = "rule R-OLD: weapons and ammunition (forced red)"  # stored before reasons had codes


def test_pages_name_every_detector_and_say_reasons_in_the_reader_language(anonymous, store):
    engine = anonymous.app.state.engine
    declaration_id = store["declaration_id"][0]
    signals = {d.name: {"score": 0.5, "reasons": []} for d in DETECTORS}
    pushed = reason("model.hit_rate", key="importer", rate="40%", n=12, pushed=0.31)
    signals["model"]["reasons"] = [pushed]  # a feature's contribution, charted
    decide_again(engine, declaration_id, [RANDOM, OLD], signals)
    browser_login(anonymous, "analyst")
    french = html.unescape(anonymous.get(f"/declarations/{declaration_id}").text)
    english = html.unescape(
        anonymous.get(f"/declarations/{declaration_id}", headers={"accept-language": "en"}).text
    )
    said = "sélection aléatoire : tirage 0,0123 sous le taux 0,05 pour le bureau CASA-PORT"
    assert said in french
    assert "random selection: draw 0.0123 under rate 0.05 for office CASA-PORT" in english
    for page in (french, english):  # a reason stored as words reads as it was written
        assert OLD in page and '{"code"' not in page and "detector." not in page
    for d in DETECTORS:
        assert d.label("fr") in french and d.label("en") in english
    assert "manifestes" in french and "déclarations fiscales" in french
    assert "taux d'infraction importateur 40\u00a0% sur 12 contrôles passés" in french
    assert "importer hit rate 40% over 12 past inspections" in english
    case_id = cases.open_case(engine, "tip-off from the port", "analyst", declaration_id)
    case = html.unescape(anonymous.get(f"/cases/{case_id}").text)
    assert said in case and OLD in case  # its declaration's reasons, in the page's language
    words = "importer hit rate 40% over 12 past inspections"  # the model's, before codes
    decide_again(
        engine, declaration_id, [OLD], {"model": {"score": 0.5, "reasons": [f"{words}: +0.31"]}}
    )
    assert words in html.unescape(anonymous.get(f"/declarations/{declaration_id}").text)


def test_the_scoreboard_names_every_detector_in_the_page_language(anonymous, store):
    board = scoreboard(anonymous.app.state.engine, Period("2025-01", "2025-03"))
    named = [d["detector"] for d in board["detectors"]]
    assert "random control" in named and len(named) > 2
    browser_login(anonymous, "analyst")
    for language, control in (
        ("fr", "sélection aléatoire (témoin)"),
        ("en", "random selection (control)"),
    ):
        page = anonymous.get(
            "/scoreboard?from=2025-01&to=2025-03", headers={"accept-language": language}
        )
        table = html.unescape(re.search(r'id="detectors".*?</table>', page.text, re.S)[0])
        assert control in table and "detector." not in page.text
        for name in named:
            if name != "random control":
                assert f">{registry.label(name, language)}</a></td>" in table


@pytest.mark.parametrize(
    "url",
    [
        "/cases/99999999999999999999",
        "/offences/99999999999999999999",
        "/rules?version=99999999999999999999",
        "/rules?saved=99999999999999999999",
        "/rules/diff?old=1&new=99999999999999999999",
        "/social?offset=99999999999999999999",
        "/social/sellers/S-NOT-A-SELLER",
    ],
)
def test_an_id_beyond_what_the_store_holds_is_refused_not_a_server_error(anonymous, url):
    anonymous.follow_redirects = False
    browser_login(anonymous, "admin")
    answer = anonymous.get(url)
    assert answer.status_code == 422, f"{url}: {answer.status_code}"
