"""The scoreboard page: the period it opens on, what it says when a period holds no data,
its rows linked to the declarations behind them, its charts in the page's language."""

from __future__ import annotations

import calendar
import html
import re
from datetime import date, datetime

import polars as pl
import pytest
from sqlalchemy import func, select

from tamis.inspections import record_outcomes, simulated_random_results
from tamis.scoreboard.figures import choices
from tamis.store.tables import declarations, inspection_outcomes
from tests.conftest import login
from tests.stores import assessed_store
from tests.test_web import browser_login

TODAY = {
    "declaration_id": "D-TODAY-1",
    "office": "CASA-PORT",
    "procedure": "4000",
    "importer_id": "IMP-NEW",
    "items": [
        {"item_number": 1, "hs_code": "6403990000", "origin_country": "CN",
         "customs_value": "12500.00", "net_mass_kg": 3000, "description": "shoes"},
    ],
}  # fmt: skip


@pytest.fixture
def store(anonymous, tmp_path):
    """An assessed, inspected store, then one declaration lodged today (no result yet)."""
    engine = anonymous.app.state.engine
    assessed_store(engine, tmp_path, declarations=300)
    # what routing sends to inspection is chance (random selection, capacity): a random
    # fifth more inspected, so that every month holds results
    columns = ["declaration_id", "lodged_at", "fraud", "fraud_type", "revenue_at_stake"]
    truth = pl.read_parquet(tmp_path / "year.parquet", columns=columns)
    with engine.connect() as conn:
        done = list(conn.execute(select(inspection_outcomes.c.declaration_id)).scalars())
    more = truth.filter(~pl.col("declaration_id").is_in(done))
    record_outcomes(engine, simulated_random_results(more, 0.2, seed=3))
    months = choices(engine)["months"]
    lodged = TODAY | {"lodged_at": datetime.now().replace(microsecond=0).isoformat()}
    answer = anonymous.post("/api/declarations", json=lodged, headers=login(anonymous, "admin"))
    assert answer.status_code == 201, answer.text
    anonymous.follow_redirects = False
    return months


def section(page: str, heading: str) -> str:
    """The page's <section> whose heading is ``heading``."""
    return re.search(rf"<section><h2>{re.escape(heading)}</h2>.*?</section>", page, re.S)[0]


def test_the_default_period_ends_at_the_latest_results_not_at_today(anonymous, store):
    browser_login(anonymous, "analyst")
    page = anonymous.get("/scoreboard").text
    now = f"{date.today():%Y-%m}"
    assert choices(anonymous.app.state.engine)["months"][-1] == now  # today's is offered
    chosen = re.findall(r'<option value="(\d{4}-\d{2})" selected>', page)
    # the data's months up to the last that holds an inspection result (which months do is
    # chance: random selection and capacity decide what is inspected)
    assert chosen == [store[0], latest_inspected_month(anonymous.app.state.engine)]
    assert chosen[-1] != now
    declarations = int(
        re.search(r'id="kpi-declarations">([\d\u202f ]+)<', page)[1].replace("\u202f", "")
    )
    assert declarations >= 250
    assert "Aucune donnée" not in page and "Aucun résultat de contrôle" not in page
    assert page.count('<svg class="chart"') >= 3
    assert f'<option value="{now}">{html.escape(month_fr(date.today()))}</option>' in page


def latest_inspected_month(engine) -> str:
    d, o = declarations, inspection_outcomes
    joined = d.join(o, o.c.declaration_id == d.c.declaration_id)
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(d.c.lodged_at)).select_from(joined)).scalar()
    return f"{latest:%Y-%m}"


def month_fr(day: date) -> str:
    from babel.dates import format_date

    return format_date(day, "MMM y", locale="fr_FR")


def test_a_period_without_results_says_so_instead_of_empty_charts(anonymous, store):
    browser_login(anonymous, "analyst")
    now = f"{date.today():%Y-%m}"
    french = anonymous.get(f"/scoreboard?from={now}&to={now}").text
    assert re.search(r'id="kpi-declarations">1<', french)
    for heading in ("Par circuit", "Par détecteur"):
        said = section(french, heading)
        assert "Aucun résultat de contrôle saisi pour cette période." in said
        assert "<svg" not in said
    english = anonymous.get(f"/scoreboard?from={now}&to={now}", headers={"accept-language": "en"})
    assert "No inspection result recorded for this period." in english.text
    nothing = anonymous.get("/scoreboard?from=1999-01&to=1999-02").text
    assert "Aucune déclaration évaluée pour cette période." in nothing


def test_rows_link_to_the_declarations_they_count(anonymous, store):
    browser_login(anonymous, "analyst")
    first, last = store[0], store[-1]
    year, month = map(int, last.split("-"))
    end = f"{last}-{calendar.monthrange(year, month)[1]}"
    page = anonymous.get(f"/scoreboard?office=CASA-PORT&from={first}&to={last}").text
    scope = f"office=CASA-PORT&amp;from={first}-01&amp;to={end}"
    channels = re.search(r'id="channels".*?</table>', page, re.S)[0]
    shown = re.findall(r'<tr data-channel="(\w+)">', channels)
    assert shown
    for channel in shown:  # which channels the office has is chance (random selection)
        assert f'href="/declarations?{scope}&amp;channel={channel}"' in channels
    assert re.search(rf'href="/declarations\?{scope}&amp;detector=\w+"', page)
    assert re.search(rf'href="/declarations\?{scope}&amp;importer=IMP\d+"', page)
    assert re.search(rf'href="/declarations\?{scope}&amp;hs=\d\d"', page)
    everywhere = anonymous.get(f"/scoreboard?from={first}&to={last}").text
    assert f'href="/declarations?from={first}-01&amp;to={end}&amp;office=CASA-PORT"' in everywhere
    detectors = re.search(r'id="detectors".*?</table>', everywhere, re.S)[0]
    control = re.search(r'<tr data-detector="random control">.*?</tr>', detectors, re.S)[0]
    assert "href" not in control  # a control group, not a detector the list filters by


def test_charts_are_written_in_the_page_language(anonymous, store):
    browser_login(anonymous, "analyst")
    first, last = store[0], store[-1]
    url = f"/scoreboard?from={first}&to={last}"
    french = html.unescape(anonymous.get(url).text)
    english = html.unescape(anonymous.get(url, headers={"accept-language": "en"}).text)
    channels_fr = section(french, "Par circuit")
    assert re.search(r'class="value">\d+,\d\u00a0%</text>', channels_fr)  # 12,3 %
    assert re.search(r'class="value">\d+\.\d%</text>', section(english, "Per channel"))
    assert "<title>Déclarations par circuit, par semaine</title>" in french
    weeks_fr = re.findall(r'class="axis">(\d+ [a-zéû]+\.?)</text>', french)
    weeks_en = re.findall(r'class="axis">(\d+ [A-Z][a-z]+)</text>', english)
    assert weeks_fr and weeks_en  # "6 janv.", "6 Jan"
    assert re.search(r"<title>\d+ [a-zéû]+\.? — (vert|orange|rouge) — [\d\u202f]+</title>", french)
