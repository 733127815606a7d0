"""Offences over HTTP as officers, supervisors, auditors and partners meet them: opened from
an inspection or recorded by hand, settled within the schedule's bounds with a second
officer's approval, paid once per receipt, taken to court; and their pages."""

from __future__ import annotations

import html
import json
import re

import polars as pl
import pytest

from tamis import audit
from tamis.store.read import read_outcomes
from tamis.web.i18n import Translator
from tests.conftest import login
from tests.stores import assessed_store
from tests.test_web import browser_login

OFFICE = "CASA-PORT"
IMPORTER = "IMP900001"
# Class C1 of the shipped schedule: twice the duties evaded, a settlement from a quarter
# of the penalty to all of it.
RECORDED = {
    "facts": "Undervalued invoice found at the quay",
    "office": OFFICE,
    "offence_date": "2025-03-10",
    "class_code": "C1",
    "duties_evaded": "20000",
    "parties": [{"role": "importer", "name": "ATLAS NEGOCE SARL", "customs_id": IMPORTER}],
}
BOUNDS = "from 10000.00 to 40000.00 MAD"


@pytest.fixture
def officers(client) -> dict[str, dict]:
    """Auth headers: an inspector, two supervisors, an auditor and a partner."""
    return {
        name: login(client, role, name)
        for name, role in (
            ("karim", "inspector"),
            ("sara", "supervisor"),
            ("omar", "supervisor"),
            ("ines", "auditor"),
            ("dgddi", "partner"),
        )
    }


def record(client, headers: dict, **more) -> dict:
    answer = client.post("/api/offences", headers=headers, json=RECORDED | more)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_an_inspector_opens_an_offence_from_an_inspection_and_finds_it_in_the_queue(
    client, officers, tmp_path
):
    engine = client.app.state.engine
    assessed_store(engine, tmp_path, declarations=1500)
    outcomes = read_outcomes(engine)
    found = outcomes.filter(pl.col("result") == "non_compliant")["declaration_id"].sort()
    clean = outcomes.filter(pl.col("result") == "compliant")["declaration_id"][0]
    karim = officers["karim"]

    opened = client.post(
        f"/api/offences/from-inspection/{found[0]}",
        headers=karim,
        json={"concealment": "false bottom", "detection_method": "scanner"},
    )
    assert opened.status_code == 201, opened.text
    offence = opened.json()
    assert offence["status"] == "open" and offence["origin"] == "inspection"
    assert offence["declaration_ids"] == [found[0]] and offence["concealment"] == "false bottom"
    assert offence["penalty_minor"] > 0 and offence["recorded_by"] == "karim"
    [importer] = offence["parties"]

    queue = client.get("/api/offences", headers=karim, params={"status": "open"}).json()
    assert [o["number"] for o in queue] == [offence["number"]]
    for filters in ({"office": offence["office"]}, {"party": importer["customs_id"]}):
        assert client.get("/api/offences", headers=karim, params=filters).json() == queue
    assert client.get("/api/offences", headers=karim, params={"office": "NOWHERE"}).json() == []

    shown = client.get(f"/api/offences/{offence['offence_id']}", headers=karim).json()
    assert shown["number"] == offence["number"] and shown["payments"] == []
    assert [(e["action"], e["actor"]) for e in shown["audit_trail"]] == [("offence.open", "karim")]
    replayed = client.get(f"/api/offences/{offence['offence_id']}/replay", headers=karim).json()
    assert replayed["agrees"] and replayed["number"] == offence["number"]

    again = client.post(f"/api/offences/from-inspection/{found[0]}", headers=karim)
    assert again.status_code == 409 and offence["number"] in again.json()["detail"]
    unseized = client.post(
        f"/api/offences/from-inspection/{found[1]}", headers=karim, json={"seized_quantity": 3}
    )
    assert unseized.status_code == 422 and "seized_quantity" in unseized.text
    compliant = client.post(f"/api/offences/from-inspection/{clean}", headers=karim)
    assert compliant.status_code == 409 and clean in compliant.json()["detail"]
    unknown = client.post(
        "/api/offences", headers=karim, json={"facts": "Goods found", "declaration_ids": ["NOPE-1"]}
    )
    assert unknown.status_code == 409
    assert unknown.json()["detail"] == "declaration_ids: declaration 'NOPE-1' is not in the store"
    assert client.get("/api/offences/999999", headers=karim).status_code == 404


def test_a_settlement_within_the_bounds_is_approved_by_another_supervisor_accepted_and_paid(
    client, officers
):
    karim, sara, omar = officers["karim"], officers["sara"], officers["omar"]
    offence = record(client, karim)
    url = f"/api/offences/{offence['offence_id']}"
    assert offence["penalty_minor"] == 4_000_000 and offence["currency"] == "MAD"

    low = client.post(f"{url}/settlement", headers=sara, json={"amount": "100"})
    assert low.status_code == 409 and BOUNDS in low.json()["detail"]
    plan = [
        {"due_on": "2025-04-30", "amount": "10000"},
        {"due_on": "2025-05-31", "amount": "10000"},
    ]
    proposed = client.post(
        f"{url}/settlement", headers=sara, json={"amount": "20000", "instalments": plan}
    )
    assert proposed.status_code == 200 and proposed.json()["status"] == "settlement_proposed"

    approve = {"approve": True, "note": "first offence, paid duties"}
    assert client.post(f"{url}/settlement/decision", headers=karim, json=approve).status_code == 403
    own = client.post(f"{url}/settlement/decision", headers=sara, json=approve)
    assert own.status_code == 409 and "sara proposed this settlement" in own.json()["detail"]
    approved = client.post(f"{url}/settlement/decision", headers=omar, json=approve)
    assert approved.json()["status"] == "settlement_approved"
    accepted = client.post(f"{url}/settlement/acceptance", headers=karim)
    assert accepted.json()["status"] == "settled" and accepted.json()["due_minor"] == 2_000_000

    receipt = {"amount": "10000", "paid_on": "2025-04-28", "reference": "Q-2025-001"}
    first = client.post(f"{url}/payments", headers=karim, json=receipt)
    assert first.status_code == 201 and first.json()["duplicate"] is False
    same = client.post(f"{url}/payments", headers=karim, json=receipt)
    assert same.status_code == 200 and same.json()["duplicate"] is True
    assert same.json()["paid_minor"] == 1_000_000  # the receipt counted once
    last = client.post(f"{url}/payments", headers=karim, json=receipt | {"reference": "Q-2025-002"})
    assert last.status_code == 201 and last.json()["status"] == "paid"
    more = client.post(f"{url}/payments", headers=karim, json=receipt | {"reference": "Q-2025-003"})
    assert more.status_code == 409 and offence["number"] in more.json()["detail"]

    shown = client.get(url, headers=karim).json()
    assert [p["reference"] for p in shown["payments"]] == ["Q-2025-001", "Q-2025-002"]
    assert [i["left_minor"] for i in shown["instalments"]] == [0, 0]
    assert [s["status"] for s in shown["settlements"]] == ["accepted"]
    assert [(e["action"], e["actor"]) for e in shown["audit_trail"]] == [
        ("offence.open", "karim"),
        ("offence.settlement.propose", "sara"),
        ("offence.settlement.approve", "omar"),
        ("offence.settlement.accept", "karim"),
        ("offence.payment", "karim"),
        ("offence.payment", "karim"),
    ]


def test_a_supervisor_refers_an_offence_to_court_and_records_the_judgment(client, officers):
    karim, sara = officers["karim"], officers["sara"]
    offence = record(client, karim)
    url = f"/api/offences/{offence['offence_id']}"
    court = {"court": "Tribunal de première instance de Casablanca"}
    assert client.post(f"{url}/court", headers=karim, json=court).status_code == 403
    referred = client.post(f"{url}/court", headers=sara, json=court)
    assert referred.json()["status"] == "in_court" and referred.json()["court"] == court["court"]
    late = client.post(f"{url}/settlement", headers=karim, json={"amount": "20000"})
    assert late.status_code == 409 and "in_court" in late.json()["detail"]

    judgment = {"judged_on": "2025-09-01", "amount": "15000", "text": "Fine of 15000 MAD",
                "due_on": "2025-10-01"}  # fmt: skip
    assert client.post(f"{url}/judgment", headers=karim, json=judgment).status_code == 403
    judged = client.post(f"{url}/judgment", headers=sara, json=judgment)
    assert judged.json()["status"] == "judged" and judged.json()["due_minor"] == 1_500_000

    waiting = record(client, karim, offence_date="2025-03-12")
    alerts = client.get("/api/offences/alerts", headers=karim, params={"today": "2029-01-02"})
    kinds = {(a["kind"], a["number"]) for a in alerts.json()}
    assert kinds == {("limitation", waiting["number"]), ("instalment_overdue", offence["number"])}


def test_an_auditor_reads_and_changes_nothing_a_partner_sees_nothing(client, officers):
    offence = record(client, officers["karim"])
    url = f"/api/offences/{offence['offence_id']}"
    reads = ["/api/offences", "/api/offences/alerts", url, f"{url}/replay"]
    changes = {
        "/api/offences": RECORDED,
        "/api/offences/from-inspection/D1": {},
        f"{url}/settlement": {"amount": "20000"},
        f"{url}/settlement/decision": {"approve": True},
        f"{url}/settlement/acceptance": {},
        f"{url}/court": {"court": "TPI"},
        f"{url}/judgment": {"judged_on": "2025-09-01", "amount": "0", "text": "acquitted"},
        f"{url}/payments": {"amount": "1", "paid_on": "2025-04-01", "reference": "Q"},
    }
    for path in reads:
        assert client.get(path, headers=officers["ines"]).status_code == 200, path
        assert client.get(path, headers=officers["dgddi"]).status_code == 403, path
    for path, body in changes.items():
        for who in ("ines", "dgddi"):
            answer = client.post(path, headers=officers[who], json=body)
            assert answer.status_code == 403, f"{path} as {who}"
    assert client.get(url, headers=officers["ines"]).json()["status"] == "open"


def browse(client, role: str) -> str:
    """The client as a browser of a new user of ``role`` (no admin token); its CSRF token."""
    client.headers.pop("Authorization", None)
    client.follow_redirects = False
    return browser_login(client, role)


def _missing_keys(monkeypatch) -> list[tuple[str, str]]:
    """Every message a page asks for that its language's catalogue lacks, as it is asked."""
    missing, ask = [], Translator.__call__

    def checked(self, key, **values):
        if key not in self.messages:
            missing.append((self.language, key))
        return ask(self, key, **values)

    monkeypatch.setattr(Translator, "__call__", checked)
    return missing


def test_the_offence_pages_read_in_french_and_english_with_every_message(
    client, officers, monkeypatch
):
    karim, sara, omar = officers["karim"], officers["sara"], officers["omar"]
    first = record(client, karim)
    url = f"/api/offences/{first['offence_id']}"
    client.post(f"{url}/settlement", headers=sara, json={"amount": "20000"})
    client.post(f"{url}/settlement/decision", headers=omar, json={"approve": True})
    client.post(f"{url}/settlement/acceptance", headers=karim)
    receipt = {"amount": "5000", "paid_on": "2025-04-28", "reference": "Q-2025-001"}
    client.post(f"{url}/payments", headers=karim, json=receipt)
    repeat = record(client, karim, offence_date="2025-06-02", seized=True, seized_quantity="12")
    assert repeat["repeat_of"] == first["number"] and repeat["penalty_minor"] == 8_000_000
    client.post(f"/api/offences/{repeat['offence_id']}/court", headers=sara, json={"court": "TPI"})
    missing = _missing_keys(monkeypatch)
    browse(client, "supervisor")

    pages = ["/offences", f"/offences/{first['offence_id']}", f"/offences/{repeat['offence_id']}",
             f"/offenders/{IMPORTER}"]  # fmt: skip
    said = {}
    for language in ("fr", "en"):
        for page in pages:
            answer = client.get(page, headers={"accept-language": language})
            assert answer.status_code == 200, f"{page} in {language}"
            said[language, page] = html.unescape(answer.text)
    assert missing == []
    french, english = said["fr", pages[1]], said["en", pages[1]]
    assert "Contravention de 1re classe (droits éludés)" in french
    assert "Customs offence, 1st class (duties evaded)" in english
    assert "droits et taxes éludés 20\u202f000 MAD × 2" in french
    assert "duties and taxes evaded 20,000 MAD × 2" in english
    assert "transaction acceptée" in french and "Q-2025-001" in french
    assert (
        'id="payment-form"' in french
        and "Enregistrer un paiement (reste 15\u202f000,00\u00a0MAD)" in french
    )
    repeated = said["fr", pages[2]]
    assert f"× 2 pour récidive (infraction {first['number']})" in repeated
    assert "marchandises saisies 12" in repeated and "au tribunal" in repeated
    assert 'id="judgment-form"' in repeated and 'id="settlement-form"' not in repeated
    record_of = said["fr", pages[3]]
    assert first["number"] in record_of and repeat["number"] in record_of
    assert "ATLAS NEGOCE SARL" in record_of and "120\u202f000,00\u00a0MAD" in record_of  # penalties
    assert client.get("/offences/999999").status_code == 404
    assert client.get("/offenders/NOBODY").status_code == 404


def test_a_refused_settlement_form_shows_the_reason_and_keeps_what_was_typed(client, officers):
    offence = record(client, officers["karim"])
    page = f"/offences/{offence['offence_id']}"
    token = browse(client, "inspector")
    assert 'id="settlement-form"' in client.get(page).text
    assert 'id="decision-form"' not in client.get(page).text  # a supervisor's

    low = client.post(f"{page}/settlement", data={"csrf_token": token, "amount": "100"})
    assert low.status_code == 409
    refusal = html.unescape(re.search(r'id="refusal".*?</div>', low.text, re.S)[0])
    assert "Changement refusé" in refusal and "de 10\u202f000 à 40\u202f000 MAD" in refusal
    assert 'name="amount" inputmode="decimal" required value="100"' in low.text
    typo = client.post(f"{page}/settlement", data={"csrf_token": token, "amount": "abc"})
    assert typo.status_code == 422
    assert "Montant</strong> — un montant est attendu" in html.unescape(typo.text)

    typed = {"csrf_token": token, "amount": "20 000,00", "instalments": "2025-04-30 20 000"}
    proposed = client.post(f"{page}/settlement", data=typed)
    assert proposed.status_code == 303 and proposed.headers["location"] == page
    shown = client.get(page).text
    assert "transaction proposée" in shown and 'id="settlement-form"' not in shown
    supervisor = browser_login(client, "supervisor")
    decided = client.post(f"{page}/decision", data={"csrf_token": supervisor, "approve": "true"})
    assert decided.status_code == 303
    assert "transaction approuvée" in client.get(page).text


def test_a_lodgement_after_an_offence_carries_the_offender_record_and_its_watchlist(
    client, officers
):
    from tests.test_api import DECLARATION

    today = audit.now().replace(microsecond=0).isoformat()  # the watchlist runs from today
    declaration = DECLARATION | {"importer_id": IMPORTER, "lodged_at": today}
    before = client.post("/api/declarations", json=declaration | {"declaration_id": "D-OFF-1"})
    assert before.status_code == 201, before.text
    assert "repeat_offender" not in json.dumps(before.json())
    offence = record(client, officers["karim"], hs_code="6403990000")
    refused = client.post(f"/api/offences/{offence['offence_id']}/watchlist",
                          headers=officers["karim"], json={})  # fmt: skip
    assert refused.status_code == 403  # watchlists are the analysts'
    watched = client.post(f"/api/offences/{offence['offence_id']}/watchlist", json={"days": 30})
    assert watched.status_code == 201
    listed = {w["watchlist_id"]: w for w in client.get("/api/watchlists").json()}
    assert IMPORTER in listed[watched.json()["watchlist_id"]]["importers"]
    after = client.post("/api/declarations", json=declaration | {"declaration_id": "D-OFF-2"})
    said = json.dumps(after.json(), ensure_ascii=False)
    assert offence["number"] in said  # the repeat-offender detector's reason names it
    assert f"Offence {offence['number']}" in said  # and the watchlist's hit
    browse(client, "inspector")
    page = client.get("/declarations/D-OFF-2").text
    assert f'href="/offenders/{IMPORTER}"' in page and offence["number"] in page
