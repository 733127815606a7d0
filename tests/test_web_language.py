"""Everything on a French page in French, an English one in English: every message has its
two texts, every key the code asks for exists, reasons are worded in both languages, and no
page of the dashboard shows the other language's messages or a raw key."""

from __future__ import annotations

import html
import re
import string
from pathlib import Path

import pytest
import yaml

from tamis import reasons
from tamis.cases import cases
from tamis.cases.results import InspectionIn, record_result
from tamis.channels import CHANNELS
from tamis.offences.read import Status
from tamis.users import Role
from tamis.web import i18n
from tamis.web.i18n import LANGUAGES, Translator, catalogue
from tamis.web.transit import STATES
from tests.conftest import login
from tests.stores import assessed_store
from tests.test_web import browser_login, page_operations

WEB = Path(i18n.__file__).parent
# Messages written the same in French and English (names, acronyms, shared words).
SAME_IN_BOTH = {
    "Tamis", "MRN", "PSI", "Transit", "Version", "Version {version}", "Active", "Description",
    "Notes", "Note", "Destination", "Date", "Message", "Action", "Type", "Licence", "Score",
    "orange", "incident", "{user} ({role})", "{base} {value} × {multiple}", "= {amount}",
    "longitude {value}", "latitude {value}", "{value} position(s)", "Administration", "Pages",
    "Page", "Source",
}  # fmt: skip
# Reasons quoting a name each language's way: English "quoted" (with its quotes), French « name ».
QUOTED = {"watchlist.hit"}
SOURCES = [*WEB.glob("templates/*.html"), *(p for p in WEB.glob("*.py") if p.name != "i18n.py")]
# t("literal") or t('literal') followed by its arguments or its end: a key said in full.
ASKED = re.compile(r"""\bt\(\s*(["'])([\w .\-]+?)\1\s*[,)]""")
PLACEHOLDER = re.compile(r"\{(\w+)[^{}]*\}")


class Unique(yaml.SafeLoader):
    """A YAML loader refusing a key given twice in one file (plain YAML keeps the last)."""


def _no_duplicates(loader, node, deep=False):
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    assert not twice, f"{node.start_mark.name}: keys given twice: {twice}"
    return loader.construct_mapping(node, deep)


Unique.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def fields(text: str) -> set[str]:
    """A text's placeholders; ``label_fr`` and ``label_en`` are one figure said per language."""
    return {re.sub(r"_(fr|en)$", "_<language>", f) for f in PLACEHOLDER.findall(text)}


def test_every_message_has_a_french_and_an_english_text_of_its_own():
    for path in sorted(WEB.glob("messages/*.yaml")) + sorted(reasons.CATALOGUE.glob("*.yaml")):
        with open(path, encoding="utf-8") as handle:
            yaml.load(handle, Unique)
    french, english = catalogue("fr"), catalogue("en")
    assert set(french) == set(english), set(french) ^ set(english)
    for key in french:
        fr, en = french[key], english[key]
        assert fr.strip() and en.strip(), f"{key}: a text is empty"
        words = PLACEHOLDER.sub("", fr)
        same = fr in SAME_IN_BOTH or not any(c.isalpha() for c in words)  # "{what} ({currency})"
        assert fr != en or same, f"{key}: the French text is the English one: {fr}"
        assert fields(fr) == fields(en), f"{key}: not the same placeholders in both: {fr} / {en}"


def test_every_reason_is_worded_in_both_languages_with_the_same_figures():
    for code, wording in reasons.templates().items():
        assert set(wording) == set(LANGUAGES), f"{code}: languages {sorted(wording)}"
        fr, en = wording["fr"], wording["en"]
        assert fr.strip() and en.strip(), code
        assert fields(fr) == fields(en) or code in QUOTED, f"{code}: not the same figures"


def test_every_key_the_pages_ask_for_is_in_the_catalogues():
    known = set(catalogue("fr"))
    asked = {(path.name, m[2]) for path in SOURCES for m in ASKED.finditer(path.read_text("utf-8"))}
    assert len(asked) > 300  # the scan finds the pages' keys
    missing = sorted(f"{name}: {key}" for name, key in asked if key not in known)
    assert not missing, missing
    # keys made from a value: every value the pages can be given has its words
    made = [f"channel.{c}" for c in CHANNELS] + [f"role.{r.value}" for r in Role]
    made += [f"transit.state.{s}" for s in STATES]
    made += [f"offence.status.{s.value}" for s in Status]
    made += [f"status.{s.value}" for s in cases.Status]
    assert not [key for key in made if key not in known]


def test_numbers_dates_and_months_are_written_the_language_way():
    french, english = Translator("fr"), Translator("en")
    assert french.currency(1234567) == "12\u202f345,67\u00a0MAD"
    assert english.currency(1234567, "EUR") == "12,345.67\u00a0EUR"
    assert french.date("2026-12-07") == english.date("2026-12-07") == "07/12/2026"
    assert french.month("2026-12") == "déc. 2026" and english.month("2026-12") == "Dec 2026"
    assert french.percent(0.1234) == "12,3\u00a0%" and english.percent(0.1234) == "12.3%"
    assert i18n.typed_day("30/06/2026") == i18n.typed_day("2026-06-30") == "2026-06-30"
    stored = reasons.reason("anomaly.value", value=1234567.8, z=3.25)
    assert reasons.render(stored, "fr") == "valeur en douane 1\u202f234\u202f568 (z +3,2)"
    assert reasons.render(stored, "en") == "customs value 1,234,568 (z +3.2)"
    held = reasons.reason(
        "route.capacity.held", to="orange", wanted="red", office="CASA", day="2025-03-02"
    )
    assert "à CASA le 02/03/2025 " in reasons.render(held, "fr")
    record = reasons.reason(
        "transit.record", importer="I1", alerted=1, movements=2, kinds=["overdue"], last="M1"
    )
    assert "(délai dépassé)" in reasons.render(record, "fr")


# --- Every page, in each language ------------------------------------------------------


@pytest.fixture
def store_url(tmp_path):
    """SQLite only: what is said does not depend on the database."""
    return f"sqlite:///{tmp_path / 'tamis.db'}"


@pytest.fixture
def pages(anonymous, tmp_path) -> list[str]:
    """The dashboard's GET pages (a value for each path parameter), on an assessed store."""
    decided = assessed_store(anonymous.app.state.engine, tmp_path, declarations=300)
    anonymous.follow_redirects = False
    red = decided.filter(decided["channel"] == "red").row(0, named=True)
    case_id = cases.queue(anonymous.app.state.engine)[0]["case_id"]
    offence = _an_offence(anonymous)
    values = {
        "declaration_id": red["declaration_id"],
        "case_id": str(case_id),
        "importer_id": "IMP000001",
        "party": offence["parties"][0]["customs_id"],
        "offence_id": str(offence["offence_id"]),
        "mrn": "26MA00000000000000",
        "seller_id": "S-0000000000",
        "item_number": "1",
    }
    found = []
    for operation in sorted(page_operations()):
        method, path = operation.split(" ", 1)
        if method != "GET" or path.startswith("/lang"):
            continue
        names = re.findall(r"\{(\w+)\}", path)
        found.append(path.format(**{n: values.get(n, "X") for n in names}))
    assert {"/scoreboard", "/rules", "/transit", "/offences", "/social"} <= set(found)
    missing = ["/offences/999999", "/offenders/NOBODY"]  # error pages, in the page's language
    return [*found, *missing, "/scoreboard?from=2025-01&to=2025-03", "/rules/diff?old=1&new=1"]


def _an_offence(client) -> dict:
    """An offence opened from a non-compliant inspection result (one is recorded on an open
    case when the simulated inspections found none), with its parties."""
    engine = client.app.state.engine
    case = cases.queue(engine, status=cases.Status.OPEN)[0]
    found = InspectionIn(result="non_compliant", fraud_type="valuation", revenue_recovered=1234)
    record_result(engine, case["case_id"], found, "admin")
    url = f"/api/offences/from-inspection/{case['declaration_id']}"
    opened = client.post(url, headers=login(client, "admin"))
    assert opened.status_code == 201, opened.text
    return opened.json()


def visible(page: str) -> str:
    """The text a reader sees (and the words of titles and labels), without the markup."""
    page = re.sub(r"<(script|style|textarea)\b.*?</\1>", " ", page, flags=re.S)  # code, typed
    # the audit trail's changes name a stored record's fields as stored; a text as people
    # (or the record opening it) wrote it is in its own language
    page = re.sub(r'<table class="changes">.*?</table>', " ", page, flags=re.S)
    page = re.sub(r'<dd class="typed">.*?</dd>', " ", page, flags=re.S)
    said = re.findall(r'(?:title|placeholder|aria-label|alt)="([^"]*)"', page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page) + " " + " ".join(said))


def fragments(text: str) -> list[str]:
    """A message's own words: its literal parts between placeholders, the long ones."""
    literal = [part for part, *_ in string.Formatter().parse(text)]
    return [part.strip() for part in literal if len(part.strip()) > 12]


# A message's key shown instead of its words (the catalogue lacks it), or a detector's.
RAW_KEY = re.compile(
    r"(?<![\w.])(?:detector\.\w|reason\.\w|"
    + "|".join(
        re.escape(k) for k in sorted({*catalogue("fr"), *catalogue("en")}, key=len, reverse=True)
    )
    + r")(?![\w.])"
)
RAW_FIELD = re.compile(r"\b[a-z]+(?:_[a-z]+)*_(?:at|minor|id|kg)\b")


def foreign(text: str, theirs: dict[str, str], ours: dict[str, str]) -> list[str]:
    """The other language's messages found in ``text`` (those not written alike in both)."""
    seen = []
    for key, message in theirs.items():
        for part in fragments(message):
            if part not in ours[key] and part in text:
                seen.append(f"{key}: {part}")
    return seen


@pytest.mark.parametrize(("language", "other"), [("fr", "en"), ("en", "fr")])
def test_no_page_shows_the_other_language_or_a_raw_key(anonymous, pages, language, other):
    browser_login(anonymous, "admin")
    anonymous.cookies.set(i18n.COOKIE, language)
    ours, theirs = catalogue(language), catalogue(other)
    problems = {}
    for url in pages:
        answer = anonymous.get(url, follow_redirects=True)
        if not answer.headers.get("content-type", "").startswith("text/html"):
            continue  # a chart, a download
        whole = "<html" in answer.text  # else a fragment a page loads (HTMX)
        assert not whole or f'<html lang="{language}">' in answer.text, url
        text = visible(answer.text)
        found = foreign(text, theirs, ours)
        found += [f"raw key {k}" for k in RAW_KEY.findall(text)]
        found += [f"raw field {k}" for k in RAW_FIELD.findall(text)]
        if found:
            problems[url] = found
    assert not problems, problems


def test_refused_values_are_said_in_the_page_language(anonymous, tmp_path):
    anonymous.follow_redirects = False
    browser_login(anonymous, "analyst")
    french = anonymous.get("/scoreboard?from=2025-13&to=2025-01")
    assert french.status_code == 422
    said = html.unescape(french.text)
    assert "La demande contient des valeurs incorrectes." in said
    assert "Du : un mois est attendu (AAAA-MM)" in said and "String should" not in said
    rules = html.unescape(anonymous.get("/rules?version=abc").text)
    assert "Version : un nombre entier est attendu" in rules
    english = anonymous.get("/rules?version=abc", headers={"accept-language": "en"})
    assert "Version: a whole number is expected" in html.unescape(english.text)
    missing = html.unescape(anonymous.get("/transit/26MA00000000000000").text)
    assert "Page ou enregistrement introuvable." in missing and "no such movement" not in missing
