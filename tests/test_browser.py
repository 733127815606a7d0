"""End to end in a real browser (Debian's Chromium, driven by Playwright): the demo's store
served by ``tamis serve``; log in, read the scoreboard, open a red declaration and its
reasons, record an inspection result, see the scoreboard change; the work screens (lists,
a case, an importer, the administration). Every page is screenshotted into test-artifacts/
(at 1400 px and at a phone's 390 px), must load nothing from another site, must not scroll
sideways on the phone, and must show axe-core no serious or critical accessibility
violation.

Outside CI a missing Chromium skips these tests; in CI (CI=true) it fails them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import quote

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


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo, small, on its own store: (base URL, demo password, environment). Within
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
        yield base, password, browser
        browser.close()


def lodge(base: str, password: str) -> None:
    """A declaration lodged now, through the API: red (weapons), assessed with the demo's
    trained model, and so a case in the queue (the demo's own cases are all worked)."""
    login = httpx.post(f"{base}/api/auth/login", json={"username": "admin", "password": password})
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    lodged = httpx.post(f"{base}/api/declarations", json=DECLARATION, headers=headers, timeout=60)
    assert lodged.status_code == 201, lodged.text
    assert lodged.json()["channel"] == "red" and lodged.json()["model_version"]


class Visit:
    """A browser tab that records every request and checks each page it shows."""

    def __init__(self, browser, base: str, locale: str = "fr-FR") -> None:
        self.base = base
        self.page = browser.new_page(locale=locale, viewport=DESK)
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
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
        assert not broken, f"{name}: images that did not load: {broken}"
        assets = self.page.eval_on_selector_all(
            "script[src], link[href], img[src], iframe[src], source[src], object[data]",
            "nodes => nodes.map(n => n.src || n.href || n.data)",
        )
        outside = [a for a in assets + self.requests if not a.startswith((self.base, "data:"))]
        assert not outside, f"{name}: assets from another site: {outside}"
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        self.examine(name)

    def examine(self, name: str) -> None:
        """axe-core's serious and critical violations on the page, and whether it scrolls
        sideways at 390 px (with the elements that stick out); kept in ``problems``."""
        from axe_playwright_python.sync_playwright import Axe  # axe-core ships inside

        for violation in Axe().run(self.page).response["violations"]:
            if violation["impact"] in GRAVE:
                where = [" ".join(map(str, n["target"])) for n in violation["nodes"]][:6]
                self.problems.append(f"{name}: {violation['id']} ({violation['impact']}) {where}")
        self.page.set_viewport_size(PHONE)
        try:
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

    def assert_no_problems(self) -> None:
        assert not self.problems, "\n".join(self.problems)

    def figure(self, kpi: str) -> int:
        return int(re.sub(r"\D", "", self.page.inner_text(f"#kpi-{kpi}")))


def test_log_in_read_the_scoreboard_and_a_red_declaration_record_a_result(demo):
    base, password, browser = demo
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
    assert "fraud type" in page.inner_text("#form-errors")
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


def log_in(tab: Visit, password: str, then: str) -> None:
    tab.page.goto(f"{tab.base}/login?next={quote(then, safe='/')}")
    tab.page.fill("input[name=username]", "admin")
    tab.page.fill("input[name=password]", password)
    tab.page.click("main form button")


def test_a_lodged_declaration_shows_the_models_feature_contributions(demo):
    base, password, browser = demo
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
    base, password, browser = demo
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
