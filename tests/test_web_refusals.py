"""A refused value or step is said in the page's language, its field named and its figures
written the page's way, on every form that can be refused: an offence's settlement, court
and payment, a case's result, note and assignment, a declaration's documents, the rules
edited as YAML; the API answers the same refusals in its English words, as before."""

from __future__ import annotations

import html
import io
import re

import pytest

from tamis import audit, reasons
from tamis.cases import cases
from tamis.offences import settlement
from tamis.web import i18n
from tests.conftest import login
from tests.stores import assessed_store
from tests.test_offences_api import RECORDED
from tests.test_web import browser_login

LANGUAGES = ("fr", "en")


@pytest.fixture
def store_url(tmp_path):
    """SQLite only: what is said does not depend on the database."""
    return f"sqlite:///{tmp_path / 'tamis.db'}"


@pytest.fixture(autouse=True)
def answers_unfollowed(anonymous):
    """A refused form answers its page; an accepted one its redirect, seen as such."""
    anonymous.follow_redirects = False


@pytest.fixture
def assessed(anonymous, tmp_path):
    """An assessed store: (a red declaration's id, an open case on it)."""
    decided = assessed_store(anonymous.app.state.engine, tmp_path, declarations=300)
    case = cases.queue(anonymous.app.state.engine, status=cases.Status.OPEN)[0]
    return decided.filter(decided["channel"] == "red")["declaration_id"][0], case


def said_in(client, language: str, url: str, data: dict, files=None):
    """The page a form posted in ``language`` answers, as its reader sees it."""
    client.cookies.set(i18n.COOKIE, language)
    client.follow_redirects = False
    answer = client.post(url, data=data, files=files)
    return answer.status_code, visible(answer.text)


def visible(page: str) -> str:
    """The words a reader sees, one space between them."""
    return re.sub(r"[ \t\r\n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_an_offence_refused_is_said_in_the_page_language(anonymous):
    api = login(anonymous, "admin")
    offence = anonymous.post("/api/offences", headers=api, json=RECORDED).json()
    url = f"/offences/{offence['offence_id']}"
    token = browser_login(anonymous, "supervisor")
    refusals = [
        # the schedule's bounds, its amounts written the page's way
        (f"{url}/settlement", {"amount": "100"}, 409, {
            "fr": "Montant : 100 est hors des bornes du barème pour la classe C1 : "
                  "de 10\u202f000 à 40\u202f000 MAD",
            "en": "Amount: 100 is outside the schedule's bounds for class C1: "
                  "from 10,000 to 40,000 MAD"}),
        # a validator of the settlement's form
        (f"{url}/settlement", {"amount": "20000", "instalments": "30/06/2026 5000"}, 422, {
            "fr": "les échéances totalisent 5\u202f000, et non 20\u202f000",
            "en": "the instalments add up to 5,000, not to 20,000"}),
        # a step out of turn, the statuses in words
        (f"{url}/payments", {"amount": "10", "paid_on": "2025-04-01", "reference": "Q1"}, 409, {
            "fr": "est au statut « ouverte » : cette étape n’est possible qu’au statut "
                  "transaction acceptée, jugée",
            "en": "is “open”: this step is taken only when it is settled, judged"}),
        (f"{url}/court", {"court": " "}, 409, {
            "fr": "Tribunal : indiquez le tribunal", "en": "Court: name the court"}),
    ]  # fmt: skip
    for path, form, status, words in refusals:
        for language in LANGUAGES:
            code, page = said_in(anonymous, language, path, form | {"csrf_token": token})
            assert code == status, (path, page)
            assert words[language] in page, (path, language)
            other = "en" if language == "fr" else "fr"
            assert words[other] not in page
    # the API answers the English words it always did
    low = anonymous.post(f"/api{url}/settlement", headers=api, json={"amount": "100"})
    assert low.status_code == 409
    assert low.json()["detail"] == (
        "amount: 100 is outside the schedule's bounds for class C1: from 10000.00 to 40000.00 MAD"
    )
    court = anonymous.post(f"/api{url}/court", headers=api, json={"court": " "})
    assert court.json()["detail"] == "court: name the court"


def test_a_future_payment_day_is_refused_in_the_page_language(anonymous):
    """A validator's refusal (a day in the future) and a payment on an open offence."""
    api = login(anonymous, "admin")
    offence = anonymous.post("/api/offences", headers=api, json=RECORDED).json()
    token = browser_login(anonymous, "inspector")
    form = {"amount": "10", "paid_on": "2999-01-01", "reference": "Q1", "csrf_token": token}
    url = f"/offences/{offence['offence_id']}/payments"
    code, french = said_in(anonymous, "fr", url, form)
    assert code == 422 and "Payé le — le 01/01/2999 est dans le futur" in french
    _, english = said_in(anonymous, "en", url, form)
    assert "01/01/2999 is in the future" in english and "dans le futur" not in english


def test_a_case_refused_is_said_in_the_page_language(anonymous, assessed):
    _, case = assessed
    token = browser_login(anonymous, "admin")
    url = f"/cases/{case['case_id']}"
    refusals = [
        (f"{url}/result", {"result": "non_compliant"}, 422, {
            "fr": "Type de fraude — un résultat non conforme demande le type de fraude",
            "en": "Fraud type — a non-compliant result needs the fraud type"}),
        (f"{url}/result", {"result": "compliant", "item_number": "999"}, 409, {
            "fr": f"Article (vide = toute la déclaration) : la déclaration "
                  f"{case['declaration_id']} n’a pas d’article 999",
            "en": f"declaration {case['declaration_id']} has no item 999"}),
        (f"{url}/notes", {"text": "   "}, 409, {
            "fr": "Texte : une observation ne peut pas être vide",
            "en": "Text: a note cannot be empty"}),
        (f"{url}/assign", {"assignee": "nobody"}, 409, {
            "fr": "« nobody » n’est pas un inspecteur, analyste ou administrateur actif",
            "en": "“nobody” is not an active inspector, analyst or admin"}),
        (f"{url}/status", {"status": "closed_forever"}, 409, {
            "fr": "« closed_forever » n’est pas un statut ; attendu : ouvert, en contrôle, clos",
            "en": "“closed_forever” is not a status"}),
    ]  # fmt: skip
    for path, form, status, words in refusals:
        for language in LANGUAGES:
            code, page = said_in(anonymous, language, path, form | {"csrf_token": token})
            assert code == status, (path, page)
            assert words[language] in page, (path, language, page)
    api = login(anonymous, "admin")
    result = anonymous.post(f"/api{url}/result", headers=api, json={"result": "non_compliant"})
    assert result.status_code == 422
    assert "fraud_type: a non-compliant result needs the fraud type" in result.text
    note = anonymous.post(f"/api{url}/notes", headers=api, json={"text": " "})
    assert note.json()["detail"] == "text: a note cannot be empty"


def test_a_case_stored_with_a_reason_code_is_said_in_the_page_language(anonymous, assessed):
    declaration_id, _ = assessed
    engine = anonymous.app.state.engine
    coded = reasons.reason("anomaly.value", value=1234567.8, z=3.25)
    cases.open_case(engine, coded, "analyst", declaration_id, "ZZZ-OFFICE")
    cases.open_case(engine, "an analyst's own words", "analyst", declaration_id, "ZZZ-OFFICE")
    browser_login(anonymous, "admin")
    for language, words in (("fr", "valeur en douane 1\u202f234\u202f568"),
                            ("en", "customs value 1,234,568")):  # fmt: skip
        anonymous.cookies.set(i18n.COOKIE, language)
        page = html.unescape(anonymous.get("/cases?office=ZZZ-OFFICE").text)
        assert words in page and "an analyst's own words" in page and '{"code"' not in page


def test_documents_refused_are_said_in_the_page_language(anonymous, assessed):
    declaration_id, _ = assessed
    token = browser_login(anonymous, "inspector")
    url = f"/declarations/{declaration_id}"
    upload = {"doc_type": "invoice", "issuer": " ", "csrf_token": token}
    refusals = [
        (f"{url}/documents", upload, 409, {
            "fr": "Émetteur : vide (qui a émis le document ?)",
            "en": "Issuer: empty (who issued the document?)"}),
        (f"{url}/document-requests", {"doc_type": "invoice", "due": "demain"}, 422, {
            "fr": "Échéance de la demande : « demain » : une date et une heure sont attendues",
            "en": "Request due: “demain”: a date and time are expected"}),
        (f"{url}/document-requests", {"doc_type": "invoice", "due": "2001-01-01T10:00"}, 409, {
            "fr": "Échéance de la demande : 01/01/2001 10:00 n’est pas après la demande",
            "en": "Request due: 01/01/2001 10:00 is not after it was asked"}),
        (f"{url}/remote-decision", {"decision": "release"}, 409, {
            "fr": "pas de mainlevée : la déclaration n’a aucun document à vérifier à distance",
            "en": "not released: the declaration has no document to check at a distance"}),
    ]  # fmt: skip
    for path, form, status, words in refusals:
        for language in LANGUAGES:
            files = {"file": ("invoice.pdf", io.BytesIO(b"%PDF-1.4"), "application/pdf")}
            code, page = said_in(
                anonymous, language, path, form | {"csrf_token": token},
                files if path.endswith("/documents") else None,
            )  # fmt: skip
            assert code == status, (path, page)
            assert words[language] in page, (path, language)
    api = login(anonymous, "admin")
    refused = anonymous.post(
        f"/api/declarations/{declaration_id}/remote-decision", headers=api,
        json={"decision": "release"},
    )  # fmt: skip
    assert refused.status_code == 409 and "it has no document to check" in refused.text


def test_rules_refused_are_said_in_the_page_language(anonymous):
    token = browser_login(anonymous, "admin")
    broken = "rules:\n  - id: R1\n    criteria: [\n"
    rule = "rules:\n  - id: R1\n    description: a test\n    criteria: [{field: %s, equals: 1}]"
    wrong, weightless = rule % "nope", rule % "brand"
    refusals = [
        (broken, {"fr": "ce n’est pas du YAML valide (ligne 4, colonne 1)",
                  "en": "not valid YAML (line 4, column 1)"}),
        (wrong, {"fr": "règle R1 › criteria.0.field : champ inconnu « nope »",
                 "en": "rule R1 › criteria.0.field: unknown field “nope”"}),
        (weightless, {"fr": "règle R1 : donnez un poids (de 0 exclu à 1) ou un circuit imposé",
                 "en": "rule R1: give a weight (0 to 1] or a forced channel"}),
    ]  # fmt: skip
    for text, words in refusals:
        for language in LANGUAGES:
            code, page = said_in(anonymous, language, "/rules", {"text": text, "csrf_token": token})
            assert code == 422 and words[language] in page, (language, page)
    assert "Value error" not in page


def test_an_overdue_instalment_names_its_currency(anonymous):
    api = login(anonymous, "admin")
    offence = anonymous.post("/api/offences", headers=api, json=RECORDED).json()
    url = f"/api/offences/{offence['offence_id']}"
    plan = [{"due_on": "2025-04-01", "amount": "15000"}, {"due_on": "2025-05-01", "amount": "5000"}]
    sara, omar = login(anonymous, "supervisor", "sara"), login(anonymous, "supervisor", "omar")
    proposed = anonymous.post(
        f"{url}/settlement", headers=sara, json={"amount": "20000", "instalments": plan}
    )
    assert proposed.status_code == 200, proposed.text
    anonymous.post(f"{url}/settlement/decision", headers=omar, json={"approve": True})
    assert anonymous.post(f"{url}/settlement/acceptance", headers=sara).status_code == 200
    engine = anonymous.app.state.engine
    [alert, *_] = [a for a in settlement.alerts(engine, audit.now().date()) if a.get("instalment")]
    assert alert["currency"] == "MAD" and alert["unpaid_minor"] == 1_500_000
    browser_login(anonymous, "admin")
    for language, words in (("fr", "échéance 1, 15\u202f000,00\u00a0MAD impayés"),
                            ("en", "instalment 1, 15,000.00\u00a0MAD unpaid")):  # fmt: skip
        anonymous.cookies.set(i18n.COOKIE, language)
        assert words in html.unescape(anonymous.get("/offences").text)
