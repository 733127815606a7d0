"""End to end in a real browser (Debian's Chromium, driven by Playwright): the demo's store
served by ``tamis serve``; log in, read the scoreboard, open a red declaration and its
reasons, record an inspection result, see the scoreboard change; the work screens (lists,
a case, an importer, the administration); a day's work as each user does it: an analyst
filters today's red declarations at one office and exports them, an inspector records a
corrected value and sees its effect on revenue, a case cannot be closed without a result
or a reason, an administrator adds a user and finds it in the audit trail. Every page is
screenshotted into test-artifacts/ (at 1400 px and at a phone's 390 px), must load nothing
from another site, must not scroll sideways on the phone, and must show axe-core no
serious or critical accessibility violation at either width.

Outside CI a missing Chromium skips these tests; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import time
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote
from xml.etree import ElementTree

import httpx
import pytest

from tests.conftest import REPO
from tests.servers import TAMIS, serving
from tests.test_api import DECLARATION

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts"


def _browser_or_skip():
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        missing = f"playwright is not installed: {error}"
    if missing is None and not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        missing = f"no Chromium at {CHROMIUM} (make test installs Debian's package)"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser tests must run in CI: {missing}")
        pytest.skip(missing)
    return sync_playwright


DEMO_YEAR = 5000  # declarations
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1400, "height": 1000}
GRAVE = ("serious", "critical")  # axe-core's impacts that fail a page


class Demo(NamedTuple):
    base: str  # the served dashboard's URL
    password: str  # the demo's administrator's
    browser: object
    env: dict[str, str]  # the store's, for the command line


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo, small, on its own store, served; a browser. Within
    capacity a year of 5,000 declarations gets some 600 inspected: enough for a model that
    splits (a smaller one predicts one probability for all, and explains nothing)."""
    sync_playwright = _browser_or_skip()
    folder = tmp_path_factory.mktemp("browser")
    env = os.environ | {
        "TAMIS_DATABASE_URL": f"sqlite:///{folder / 'tamis.db'}",
        "TAMIS_ATTACHMENTS_DIR": str(folder / "attachments"),
    }
    run = subprocess.run(
        [TAMIS, "demo", "--workdir", str(folder / "demo"), "--declarations", str(DEMO_YEAR)],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    said = " ".join(run.stdout.split())
    assert "Dashboard: http://127.0.0.1:8000/" in said and "Not serving" in said
    password = re.search(r"demo login: admin / (\S+)", said)[1]
    ARTIFACTS.mkdir(exist_ok=True)
    with serving(env) as base, sync_playwright() as playwright:
        lodge(base, password)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield Demo(base, password, browser, env)
        browser.close()


def lodge(base: str, password: str, declaration: dict = DECLARATION) -> None:
    """A declaration lodged through the API: red (weapons), assessed with the demo's
    trained model, and so a case in the queue (the demo's own cases are all worked)."""
    login = httpx.post(f"{base}/api/auth/login", json={"username": "admin", "password": password})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    lodged = httpx.post(f"{base}/api/declarations", json=declaration, headers=headers, timeout=60)
    assert lodged.status_code == 201, lodged.text
    assert lodged.json()["channel"] == "red" and lodged.json()["model_version"]


class Visit:
    """A browser tab that records every request and checks each page it shows."""

    def __init__(self, browser, base: str, locale: str = "fr-FR") -> None:
        self.base = base
        self.page = browser.new_page(locale=locale, viewport=DESK, accept_downloads=True)
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.refused: dict[str, int] = {}  # URL -> the status of an answer that failed
        self.page.on(
            "response", lambda answer: answer.ok or self.refused.update({answer.url: answer.status})
        )
        self.problems: list[str] = []  # every page's, said together at the end of a test

    def shot(self, name: str) -> None:
        """Screenshot, after checking that no asset of the page comes from elsewhere and
        that every image loaded; then the page's accessibility and its width on a phone."""
        deadline = time.monotonic() + 30  # (wait_for_function would need CSP's unsafe-eval)
        while not self.page.evaluate("() => [...document.images].every(i => i.complete)"):
            assert time.monotonic() < deadline, f"{name}: images still loading after 30 s"
            self.page.wait_for_timeout(100)
        broken = self.page.eval_on_selector_all(
            "img", "images => images.filter(i => !i.naturalWidth).map(i => i.src)"
        )
        answers = {url: self.refused.get(url, "no answer") for url in broken}
        assert not broken, f"{name}: images that did not load: {answers}"
        assets = self.page.eval_on_selector_all(
            "script[src], link[href], img[src], iframe[src], source[src], object[data]",
            "nodes => nodes.map(n => n.src || n.href || n.data)",
        )
        outside = [a for a in assets + self.requests if not a.startswith((self.base, "data:"))]
        assert not outside, f"{name}: assets from another site: {outside}"
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        self.examine(name)

    def examine(self, name: str) -> None:
        """axe-core's serious and critical violations on the page at both widths (a table
        that scrolls on a phone must be reachable by keyboard), and whether it scrolls
        sideways at 390 px (with the elements that stick out); kept in ``problems``."""
        self.axe(name)
        self.page.set_viewport_size(PHONE)
        try:
            self.axe(f"{name} (390 px)")
            width = self.page.evaluate("() => document.documentElement.scrollWidth")
            if width > PHONE["width"]:
                wide = self.page.eval_on_selector_all(
                    "body *",
                    """(nodes, limit) => nodes
                        .filter(n => n.getBoundingClientRect().right > limit)
                        .filter(n => !n.parentElement
                            || n.parentElement.getBoundingClientRect().right <= limit)
                        .slice(0, 6)
                        .map(n => n.tagName.toLowerCase() + (n.id ? "#" + n.id : "")
                            + (n.className && n.className.baseVal === undefined
                               ? "." + n.className.split(" ").join(".") : ""))""",
                    PHONE["width"],
                )
                self.problems.append(f"{name}: {width} px wide on a 390 px phone, by {wide}")
            self.page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)
        finally:
            self.page.set_viewport_size(DESK)

    def axe(self, name: str) -> None:
        from axe_playwright_python.sync_playwright import Axe  # axe-core ships inside

        for violation in Axe().run(self.page).response["violations"]:
            if violation["impact"] not in GRAVE:
                continue
            where = [" ".join(map(str, n["target"])) for n in violation["nodes"]]
            said = f"{violation['id']} ({violation['impact']})"
            self.problems.append(f"{name}: {said} {where[:6]}")

    def assert_no_problems(self) -> None:
        assert not self.problems, "\n".join(self.problems)

    def figure(self, kpi: str) -> int:
        return int(re.sub(r"\D", "", self.page.inner_text(f"#kpi-{kpi}")))


def test_log_in_read_the_scoreboard_and_a_red_declaration_record_a_result(demo):
    base, password, browser, _ = demo
    tab = Visit(browser, base)
    page = tab.page
    page.goto(f"{base}/scoreboard")
    assert page.url.startswith(f"{base}/login")
    assert page.inner_text("h1") == "Connexion"  # French first
    tab.shot("login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "wrong password")
    page.click("main form button")
    assert "incorrect" in page.inner_text(".error")
    page.fill("input[name=password]", password)
    page.click("main form button")
    page.wait_for_url(f"{base}/scoreboard")
    assert page.inner_text("h1") == "Tableau de bord stratégique"
    assert tab.figure("declarations") == DEMO_YEAR + 1  # the demo's year and the one lodged
    notices, recovered = tab.figure("notices"), tab.figure("recovered")
    inspected, hits = tab.figure("inspected"), tab.figure("hits")
    assert page.locator("#channels tr[data-channel=red]").count() == 1
    assert page.locator("svg.chart").count() >= 3
    tab.shot("scoreboard")
    page.select_option("select[name=office]", "CASA-PORT")  # HTMX swaps the board
    page.wait_for_url(re.compile(r".*office=CASA-PORT.*"))
    assert tab.figure("declarations") < DEMO_YEAR + 1
    tab.shot("scoreboard-casa-port")

    page.goto(f"{base}/cases")
    tab.shot("cases")
    page.click("#cases tr:nth-child(2) a[href^='/cases/']")  # the lodged declaration's
    case_url = page.url
    page.click("dl.facts a[href^='/declarations/']")
    assert page.inner_text("#channel") in ("rouge", "orange")
    reasons = page.locator("#reasons li").all_inner_texts()
    assert reasons and all(r.strip() and not r.startswith("{") for r in reasons)  # in words
    assert "detector." not in page.inner_text("main")  # every detector by its name
    tab.shot("declaration")

    page.goto(case_url)
    page.select_option("select[name=result]", "non_compliant")
    page.fill("input[name=corrected_hs_code]", "12AB")
    page.click("#result-form button")
    assert "Code SH rectifié" in page.inner_text("#form-errors")
    tab.shot("case-result-refused")
    page.fill("input[name=corrected_hs_code]", "")
    page.click("#result-form button")
    assert "Type de fraude" in page.inner_text("#form-errors")
    page.select_option("select[name=fraud_type]", "valuation")
    page.fill("input[name=revenue_recovered]", "2500.50")
    page.fill("input[name=fraud_notice]", "PV-E2E-1")
    page.click("#result-form button")
    page.wait_for_url(case_url)
    assert page.inner_text("#case-status") == "clos" and "PV-E2E-1" in page.inner_text("#results")
    tab.shot("case-closed")
    page.click("#open-offence button")  # the fraud notice: an offence record
    page.wait_for_url(re.compile(r".*/offences/\d+$"))
    assert "Contravention" in page.inner_text("main")
    tab.shot("offence")
    page.goto(case_url)
    assert "Infraction" in page.inner_text("#offence")

    page.goto(f"{base}/scoreboard")
    assert tab.figure("notices") == notices + 1
    assert (tab.figure("inspected"), tab.figure("hits")) == (inspected + 1, hits + 1)
    assert tab.figure("recovered") - recovered in (2500, 2501)  # 2,500.50 in whole units
    tab.shot("scoreboard-after")

    page.goto(f"{base}/rules")
    tab.shot("rules")
    page.goto(f"{base}/models")
    page.wait_for_selector("#drift-table, #drift p.note:not(:has-text('…'))", timeout=120_000)
    tab.shot("models")
    page.click("header a.lang")
    assert page.inner_text("h1") == "Models"
    tab.shot("models-en")
    tab.assert_no_problems()


def log_in(tab: Visit, password: str, then: str, username: str = "admin") -> None:
    tab.page.goto(f"{tab.base}/login?next={quote(then, safe='/')}")
    tab.page.fill("input[name=username]", username)
    tab.page.fill("input[name=password]", password)
    tab.page.click("main form button")
    tab.page.wait_for_url(re.compile(r"^(?!.*/login).*$"))


def test_a_lodged_declaration_shows_the_models_feature_contributions(demo):
    base, password, browser, _ = demo
    tab = Visit(browser, base, locale="en-GB")
    log_in(tab, password, f"/declarations/{DECLARATION['declaration_id']}")
    assert tab.page.inner_text("h1").startswith(f"Declaration {DECLARATION['declaration_id']}")
    assert tab.page.locator("svg.chart").count() == 2  # detectors, feature contributions
    assert tab.page.locator("svg.chart title", has_text="Feature contributions").count() == 1
    tab.shot("declaration-lodged")
    tab.assert_no_problems()


def test_the_work_screens_are_accessible_and_fit_a_phone(demo):
    """Lists, a case, an importer and the administration, in French: each that this version
    has (a 404 is skipped) passes axe-core and does not scroll sideways at 390 px."""
    base, password, browser, _ = demo
    tab = Visit(browser, base)
    page = tab.page
    log_in(tab, password, "/cases")
    lodged = f"/declarations/{DECLARATION['declaration_id']}"
    screens = {
        "declarations-red": "/declarations?channel=red",
        "cases-open": "/cases?status=open",
        "case": linked(page, f"{base}/cases?status=open", "main a[href^='/cases/']"),
        "importer": linked(page, base + lodged, "main a[href^='/importers/']"),
        "admin-users": "/admin/users",
        "admin-audit": "/admin/audit",
        "search": f"/search?q={DECLARATION['declaration_id']}",
    }
    visited = []
    for name, path in screens.items():
        answer = page.goto(base + path) if path else None
        if answer is None or answer.status == 404:
            continue
        assert answer.status == 200, f"{name}: {path} answered {answer.status}"
        tab.shot(f"screen-{name}")
        visited.append(name)
    assert {"cases-open", "case"} <= set(visited), visited
    tab.assert_no_problems()


def linked(page, url: str, selector: str) -> str | None:
    """Where the first link of a page that ``selector`` finds goes, if it has one."""
    page.goto(url)
    link = page.locator(selector).first
    return link.get_attribute("href") if link.count() else None


# A day's work, each scenario as its user does it through the pages.
OFFICE, ELSEWHERE = "NADOR", "OUJDA"  # the demo's quiet offices; its year is long past
TODAY_AT_OFFICE = ("D-E2E-1", "D-E2E-2")  # red, lodged today at OFFICE
TODAY_ELSEWHERE = "D-E2E-3"
ANALYST, INSPECTOR, NEW_USER = "analyste.e2e", "inspecteur.e2e", "superviseur.e2e"
USER_PASSWORD = "quatre mots sans rapport"


class Day(NamedTuple):
    demo: Demo
    analyst: str
    inspector: str  # an inspector at OFFICE


@pytest.fixture(scope="module")
def day(demo):
    """Three red declarations lodged today through the API, two at OFFICE and one
    elsewhere; an analyst, and an inspector of OFFICE, added on the command line."""
    now = datetime.now().replace(microsecond=0).isoformat()
    offices = dict.fromkeys(TODAY_AT_OFFICE, OFFICE) | {TODAY_ELSEWHERE: ELSEWHERE}
    for declaration_id, office in offices.items():
        declaration = DECLARATION | {"declaration_id": declaration_id, "office": office}
        lodge(demo.base, demo.password, declaration | {"lodged_at": now})
    for username, role, office in ((ANALYST, "analyst", None), (INSPECTOR, "inspector", OFFICE)):
        where = ["--office", office] if office else []
        added = subprocess.run(
            [TAMIS, "users", "add", username, "--role", role, "--password-stdin", *where],
            env=demo.env, input=USER_PASSWORD, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
    return Day(demo, ANALYST, INSPECTOR)


def said(page, selector: str) -> str:
    """A text as a reader reads it: Babel's thin and no-break spaces as plain spaces."""
    return re.sub(r"[\u202f\xa0\s]+", " ", page.inner_text(selector)).strip()


def downloaded(page, link_text: str) -> Path:
    with page.expect_download() as download:
        page.click(f"#shown a:has-text('{link_text}')")
    assert download.value.failure() is None
    return Path(download.value.path())


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.reader(file))


def xlsx_rows(path: Path) -> list[list[str]]:
    """The first sheet's rows as texts, read from the workbook's XML (no openpyxl here):
    inline strings (xlsxwriter's constant-memory mode) or shared ones."""
    ns = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(path) as book:
        shared = []
        if "xl/sharedStrings.xml" in book.namelist():
            strings = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
            shared = ["".join(t.itertext()) for t in strings.findall("x:si", ns)]
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iterfind(".//x:sheetData/x:row", ns):
        cells: dict[int, str] = {}  # an empty cell is not written: placed by its reference
        for cell in row.findall("x:c", ns):
            letters = re.match(r"[A-Z]+", cell.get("r"))[0]
            column = sum(26**n * (ord(c) - 64) for n, c in enumerate(reversed(letters))) - 1
            value = cell.find("x:v", ns)
            if cell.get("t") == "s":
                cells[column] = shared[int(value.text)]
            elif cell.get("t") == "inlineStr":
                cells[column] = "".join(cell.find("x:is", ns).itertext())
            else:
                cells[column] = value.text if value is not None else ""
        rows.append([cells.get(c, "") for c in range(max(cells, default=-1) + 1)])
    return rows


def test_an_analyst_lists_todays_red_declarations_at_an_office_and_exports_them(day):
    base, _, browser, _ = day.demo
    tab = Visit(browser, base)
    page = tab.page
    log_in(tab, USER_PASSWORD, "/declarations", username=day.analyst)
    page.select_option("select[name=office]", OFFICE)
    page.select_option("select[name=channel]", "red")
    page.click("form.filters button")
    page.wait_for_url(re.compile(rf".*office={OFFICE}.*channel=red.*"))
    page.click("form.filters a:has-text('Aujourd’hui')")
    today = date.today().isoformat()
    page.wait_for_url(re.compile(rf".*from={today}&to={today}.*"))
    assert page.input_value("select[name=office]") == OFFICE
    assert page.input_value("select[name=channel]") == "red"
    assert page.input_value("input[name=from]") == today
    listed = page.locator("#declarations td:first-child a").all_inner_texts()
    assert sorted(listed) == sorted(TODAY_AT_OFFICE)  # not the one elsewhere, nor older ones
    assert said(page, "#shown").startswith(f"1–{len(listed)} sur {len(listed)}")
    rows = page.locator("#declarations tr:has(td a)")
    for n in range(rows.count()):
        cells = rows.nth(n).locator("td").all_inner_texts()
        assert cells[2] == OFFICE and cells[5] == "rouge", cells
        assert cells[1].startswith(date.today().strftime("%d/%m/%Y")), cells
    tab.shot("analyst-today-red")

    for link, read in (("CSV", csv_rows), ("Excel", xlsx_rows)):
        header, *exported = read(downloaded(page, link))
        assert header[0] == page.inner_text("#declarations th:first-child"), header  # French
        assert [row[0] for row in exported] == listed, (link, exported)
        assert {(row[2], row[6]) for row in exported} == {(OFFICE, "rouge")}, exported
    excel_day = (date.today() - date(1899, 12, 30)).days  # a spreadsheet's day number
    assert {int(float(row[1])) for row in exported} == {excel_day}, exported  # typed as dates
    tab.assert_no_problems()


def test_an_inspector_records_a_corrected_value_and_sees_its_effect_on_revenue(day):
    """The supervisor's desk assigns the case; the inspector finds it among theirs, records
    a corrected customs value, and reads the correction and the revenue recovered, written
    12 345,67 MAD, on the case and on its declaration."""
    base, password, browser, _ = day.demo
    desk = Visit(browser, base)
    log_in(desk, password, f"/declarations/{TODAY_AT_OFFICE[1]}")
    desk.page.click("main a[href^='/cases/']")
    case_url = desk.page.url
    assert said(desk.page, "#case-status") == "ouvert"
    assert desk.page.input_value("#assignee") == ""  # nobody preselected
    desk.page.select_option("#assignee", day.inspector)
    desk.page.click("#assign-form button")
    desk.page.wait_for_url(case_url)
    assert said(desk.page, "#case-assignee") == day.inspector
    desk.page.close()

    tab = Visit(browser, base)
    page = tab.page
    log_in(tab, USER_PASSWORD, "/cases", username=day.inspector)
    page.check("input[name=mine]")
    page.click("form.filters button")
    page.wait_for_url(re.compile(r".*mine=true.*"))
    mine = page.locator("#cases a[href^='/cases/']")
    assert mine.count() == 1, mine.all_inner_texts()
    mine.first.click()
    page.wait_for_url(case_url)
    assert page.locator("#not-yours").count() == 0
    page.select_option("select[name=result]", "non_compliant")
    page.select_option("select[name=fraud_type]", "valuation")
    page.fill("input[name=item_number]", "1")
    page.fill("input[name=corrected_customs_value]", "15 000,00")
    page.fill("input[name=revenue_recovered]", "12 345,67")
    tab.shot("inspector-result-typed")
    page.click("#result-form button")
    page.wait_for_url(case_url)
    assert said(page, "#case-status") == "clos"
    assert "12 345,67 MAD" in said(page, "#results")
    shown_on_case = check_corrections(page, day.inspector)
    tab.shot("inspector-case-corrected")

    page.click("#case-declaration a")
    page.wait_for_url(f"{base}/declarations/{TODAY_AT_OFFICE[1]}")
    assert check_corrections(page, day.inspector) == shown_on_case
    tab.shot("inspector-declaration-corrected")
    tab.assert_no_problems()


def check_corrections(page, inspector: str) -> list[str]:
    """The correction of item 1's customs value (12 500,00 declared) to 15 000,00 and the
    revenue the inspection recovered, as the corrections table shows them."""
    value = said(page, "#corrections tr.correction-value")
    assert value.split(" ", 1)[0] == "1" and "Valeur en douane" in value, value
    assert "12 500,00 MAD" in value and "15 000,00 MAD" in value, value
    assert value.endswith("+2 500,00 MAD"), value
    revenue = said(page, "#corrections tr.correction-revenue")
    assert inspector in revenue and revenue.endswith("12 345,67 MAD"), revenue
    assert date.today().strftime("%d/%m/%Y") in revenue, revenue
    return [value, revenue]


def test_a_case_cannot_be_closed_without_a_result_or_a_reason(day):
    """The inspector of the office, on an unassigned case of it: no plain "closed" among
    the moves; closing without inspection asks a reason of the browser and of the server;
    the case stays open. A case of another office is theirs to read only."""
    base, _, browser, _ = day.demo
    tab = Visit(browser, base)
    page = tab.page
    log_in(tab, USER_PASSWORD, f"/declarations/{TODAY_AT_OFFICE[0]}", username=day.inspector)
    page.click("main a[href^='/cases/']")
    case_url = page.url
    assert said(page, "#case-status") == "ouvert"
    assert page.locator("#not-yours").count() == 0
    moves = page.locator("#new-status option").evaluate_all("os => os.map(o => o.value)")
    assert "closed" not in moves and moves[0] == "", moves
    assert page.input_value("#new-status") == ""
    tab.shot("case-open")

    page.click("#close-form button")  # no reason: the browser does not send the form
    assert page.url == case_url
    assert page.eval_on_selector("#closure-reason-text", "r => r.validity.valueMissing")
    page.eval_on_selector("#closure-reason-text", "r => r.removeAttribute('required')")
    page.fill("#closure-reason-text", "   ")
    page.click("#close-form button")  # sent all the same: the server refuses
    page.wait_for_selector("#case-problem")
    assert "indiquez-en le motif" in said(page, "#case-problem")
    assert said(page, "#case-status") == "ouvert"
    assert page.locator("#closure-reason").count() == 0
    tab.shot("case-close-refused")

    page.goto(case_url)
    assert said(page, "#case-status") == "ouvert"
    page.goto(f"{base}/declarations/{TODAY_ELSEWHERE}")
    page.click("main a[href^='/cases/']")
    assert page.locator("#not-yours").count() == 1  # another office's case
    assert page.locator("#close-form, #result-form, #status-form").count() == 0
    tab.shot("case-of-another-office")
    tab.assert_no_problems()


def test_an_administrator_adds_a_user_and_finds_it_in_the_audit_trail(day):
    base, password, browser, _ = day.demo
    tab = Visit(browser, base)
    page = tab.page
    log_in(tab, password, "/admin/users")
    assert page.input_value("#add-user select[name=role]") == ""  # no role preselected
    page.fill("#add-user input[name=username]", NEW_USER)
    page.select_option("#add-user select[name=role]", "supervisor")
    page.fill("#add-user input[name=office]", "AGADIR")
    page.fill("#add-user input[name=password]", USER_PASSWORD)
    page.click("#add-user button")
    page.wait_for_selector("#admin-done")
    assert NEW_USER in said(page, "#admin-done")
    row = page.locator("#users > tbody > tr", has=page.locator(f"td:text-is('{NEW_USER}')"))
    assert row.locator("> td").nth(1).inner_text() == "superviseur"
    assert row.locator("> td").nth(3).inner_text() == "AGADIR"
    tab.shot("admin-user-added")

    page.goto(f"{base}/admin/audit")
    page.fill("#audit-filters input[name=action]", "user.add")
    page.click("#audit-filters button")
    page.wait_for_url(re.compile(r".*action=user\.add.*"))
    entries = page.locator("#audit > tbody > tr:has(> td)")
    cells = [entries.nth(n).locator("> td").all_inner_texts() for n in range(entries.count())]
    assert cells and all(c[2] == "user.add" for c in cells), cells
    added = [c for c in cells if c[4] == NEW_USER]
    assert len(added) == 1 and added[0][1] == "admin" and added[0][3] == "user", cells
    assert "AGADIR" in added[0][5] and "supervisor" in added[0][5], added
    assert said(page, "#audit-total").split()[0] != "0"
    tab.shot("admin-audit-user-added")
    tab.assert_no_problems()
