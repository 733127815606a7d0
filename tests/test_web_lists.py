"""The declarations list, the case queue and the search box over HTTP, on both stores:
filters select what they say (checked against the store read independently), totals,
pages, sorting, URLs that can be bookmarked, exports of every selected row, hostile
filter values, roles."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections import Counter
from datetime import date
from html import unescape
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import delete, select, update

from tamis import rulesets
from tamis.cases import cases
from tamis.detectors.rules import Rule, RuleSet
from tamis.listing import declarations as declaration_list
from tamis.store.tables import cases as case_table
from tamis.store.tables import channel_changes, decisions, declarations, items
from tests.stores import assessed_store
from tests.test_web import browser_login

DECLARATION_LINK = re.compile(r'<td><a href="/declarations/([^"]+)">')
CASE_LINK = re.compile(r'<td><a href="/cases/(\d+)">')


@pytest.fixture
def app(anonymous, tmp_path):
    """A client logged in as an analyst on a store of 300 assessed declarations, in English.
    A risk profile sends chapter 84 to red, so cases open whatever the random draws."""
    engine = anonymous.app.state.engine
    rulesets.ensure_rule_set(engine)
    starter = rulesets.current(engine)[1]
    forced = Rule(
        id="R-MACHINES",
        description="Machines",
        channel="red",
        criteria=[{"field": "hs_code", "prefix": ["84"]}],
    )
    rulesets.apply(engine, RuleSet(rules=[*starter.rules, forced]), "test")
    assessed_store(engine, tmp_path, declarations=300)
    anonymous.follow_redirects = False
    return signed_in(anonymous, "analyst")


def signed_in(client, role: str):
    """``client`` logged in as a new user of ``role``, reading the pages in English."""
    browser_login(client, role)
    client.cookies.set("tamis_lang", "en")
    return client


@pytest.fixture(params=["gathered", "walked"])
def mode(request, monkeypatch, store_url):
    """Pages found by gathering the selection then sorting it, or by walking the sort's
    order (what a large selection does on SQLite): the same rows either way."""
    walked = request.param == "walked"
    if walked and store_url.startswith("postgresql"):
        pytest.skip("PostgreSQL always gathers: its planner has statistics")
    monkeypatch.setattr(declaration_list, "GATHERED", 0 if walked else 10**9)
    return request.param


@pytest.fixture
def truth(app) -> list[dict]:
    """Every declaration with its latest decision, read without the list's queries."""
    engine = app.app.state.engine
    with engine.connect() as conn:
        rows = {r.declaration_id: dict(r._mapping) for r in conn.execute(select(declarations))}
        for decision in conn.execute(select(decisions).order_by(decisions.c.decision_id)):
            rows[decision.declaration_id] |= {
                "channel": decision.channel,
                "score": decision.score,
                "signals": json.loads(decision.signals),
            }
        for item in conn.execute(select(items.c.declaration_id, items.c.hs_code)):
            rows[item.declaration_id].setdefault("hs_codes", set()).add(item.hs_code)
    return list(rows.values())


def exported_rows(app, url: str) -> list[dict]:
    """The CSV export of the list at ``url`` as dicts by column heading."""
    answer = app.get(url + ("&" if "?" in url else "?") + "export=csv")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))


def listed(app, url: str) -> list[str]:
    """The declarations of the export of ``url``, in order."""
    return [row["Declaration"] for row in exported_rows(app, url)]


def shown_total(page: str) -> int | None:
    found = re.search(r"\d[\d,]*–[\d,]+ of ([\d,]+)", page)
    return int(found[1].replace(",", "")) if found else None


def flagged(row: dict, detector: str) -> bool:
    signal = row.get("signals", {}).get(detector) or {}
    return (signal.get("score") or 0) >= 0.5 or signal.get("forced_channel") is not None


def test_filters_select_the_declarations_they_name(app, truth, mode):
    assessed = [r for r in truth if "channel" in r]
    held = Counter(r["channel"] for r in assessed)
    channel = min(held, key=held.get)  # the rarest: red, unless no random draw picked any
    picked = [r for r in assessed if r["channel"] == channel]
    office = picked[0]["office"]
    day = max(r["lodged_at"] for r in truth).date()
    importer = truth[0]["importer_id"]
    declarant = next(r["declarant_id"] for r in truth if r["declarant_id"])
    detector = next(d for r in assessed for d in r["signals"] if flagged(r, d))
    expected = {
        f"?channel={channel}": picked,
        f"?channel={channel}&office={office.lower()}": [r for r in picked if r["office"] == office],
        f"?from={day}&to={day}": [r for r in truth if r["lodged_at"].date() == day],
        f"?to={day}&from={day}&channel={channel}&office={office}": [
            r for r in picked if r["lodged_at"].date() == day and r["office"] == office
        ],
        f"?importer={importer}": [r for r in truth if r["importer_id"] == importer],
        f"?declarant={declarant}": [r for r in truth if r["declarant_id"] == declarant],
        "?hs=84": [r for r in truth if any(h.startswith("84") for h in r["hs_codes"])],
        "?hs=8471": [r for r in truth if any(h.startswith("8471") for h in r["hs_codes"])],
        f"?detector={detector}": [r for r in assessed if flagged(r, detector)],
        "?score_min=0.4&score_max=0.6": [r for r in assessed if 0.4 <= r["score"] <= 0.6],
        "?office=%27+OR+1%3D1+--": [],
    }
    for query, rows in expected.items():
        wanted = sorted(r["declaration_id"] for r in rows)
        assert sorted(listed(app, "/declarations" + query)) == wanted, query
        page = app.get("/declarations" + query + "&size=500")
        assert page.status_code == 200
        assert sorted(DECLARATION_LINK.findall(page.text)) == wanted, query
        assert shown_total(page.text) == (len(wanted) or None), query
        if not wanted:
            assert "No declaration matches these filters." in page.text


def test_pages_count_and_cover_the_whole_selection_once(app, truth, mode):
    first = app.get("/declarations")
    assert "1–50 of 300" in first.text and "Page 1 of 6" in first.text
    seen = []
    url = "/declarations"
    while url:
        page = app.get(url).text
        seen += DECLARATION_LINK.findall(page)
        following = re.search(r'rel="next" href="([^"]+)"', page)
        url = unescape(following[1]) if following else None
    assert len(seen) == 300 and len(set(seen)) == 300
    assert "251–300 of 300" in page
    beyond = app.get("/declarations?page=999999")
    assert beyond.status_code == 200 and "No declaration matches" in beyond.text
    big = app.get("/declarations?size=500")
    assert len(DECLARATION_LINK.findall(big.text)) == 300 and "Page 1 of" not in big.text


def test_sorting_orders_the_whole_selection(app, truth, mode):
    by_id = {r["declaration_id"]: r for r in truth}
    newest = listed(app, "/declarations")
    assert [by_id[i]["lodged_at"] for i in newest] == sorted(
        (r["lodged_at"] for r in truth), reverse=True
    )
    oldest = listed(app, "/declarations?sort=lodged&order=asc")
    assert (
        oldest[0]
        == min(truth, key=lambda r: (r["lodged_at"], r["declaration_id"]))["declaration_id"]
    )
    scores = [by_id[i].get("score") for i in listed(app, "/declarations?sort=score")]
    known = [s for s in scores if s is not None]
    assert known == sorted(known, reverse=True) and scores[: len(known)] == known
    rank = {"green": 0, "blue": 1, "yellow": 2, "orange": 3, "red": 4}
    channels = [by_id[i].get("channel") for i in listed(app, "/declarations?sort=channel")]
    assert [rank[c] for c in channels if c] == sorted(
        (rank[c] for c in channels if c), reverse=True
    )
    importers = [
        by_id[i]["importer_id"] for i in listed(app, "/declarations?sort=importer&order=asc")
    ]
    assert importers == sorted(importers)
    refused = app.get("/declarations?sort=declaration_id%3B+drop+table+cases")
    assert refused.status_code == 422 and "Sort: " in unescape(refused.text)


def test_declarations_never_assessed_come_last_by_score_page_after_page(app, truth, mode):
    engine = app.app.state.engine
    never = sorted(r["declaration_id"] for r in truth[:3])
    with engine.begin() as conn:
        for table in (channel_changes, decisions):
            conn.execute(delete(table).where(table.c.declaration_id.in_(never)))
    for order in ("desc", "asc"):
        url = f"/declarations?sort=score&order={order}&size=7"
        walked = []
        while url:
            page = app.get(url).text
            walked += DECLARATION_LINK.findall(page)
            following = re.search(r'rel="next" href="([^"]+)"', page)
            url = unescape(following[1]) if following else None
        assert len(walked) == 300 and set(walked) == {r["declaration_id"] for r in truth}
        assert sorted(walked[-3:]) == never, order
        assert listed(app, f"/declarations?sort=score&order={order}") == walked
    assert shown_total(app.get("/declarations?sort=score&page=43&size=7").text) == 300


def test_a_view_is_its_url(app, truth):
    channel = "red" if any(r.get("channel") == "red" for r in truth) else "yellow"
    picked = [r for r in truth if r.get("channel") == channel]
    office = picked[0]["office"]
    url = f"/declarations?office={office}&channel={channel}&sort=score&order=asc&size=2"
    page = app.get(url).text
    total = len([r for r in picked if r["office"] == office])
    assert shown_total(page) == total
    # the form says the filters back, so that changing one keeps the others
    assert f'<option value="{office}" selected>' in page
    assert f'<option value="{channel}" selected>' in page
    assert 'name="sort" value="score"' in page and 'name="order" value="asc"' in page
    # every link of the page (next page, sort, export) keeps every filter
    links = [unescape(h) for h in re.findall(r'href="(/declarations\?[^"]+)"', page)]
    kept = [dict(parse_qsl(urlsplit(link).query)) for link in links]
    assert kept and all(k["office"] == office and k["channel"] == channel for k in kept)
    if total > 2:
        found = re.search(r'rel="next" href="([^"]+)"', page)
        assert found, (total, page[page.find('id="shown"') : page.find('id="shown"') + 300])
        following = unescape(found[1])
        assert "page=2" in following and shown_total(app.get(following).text) == total
    # a shared link opens the same view for another reader
    signed_in(app, "inspector")
    assert shown_total(app.get(url).text) == total
    ids = DECLARATION_LINK.findall(page)
    assert DECLARATION_LINK.findall(app.get(url).text) == ids


def test_exports_hold_every_selected_row_and_no_formula(app, truth):
    engine = app.app.state.engine
    victim = truth[0]
    with engine.begin() as conn:
        conn.execute(
            update(declarations)
            .where(declarations.c.declaration_id == victim["declaration_id"])
            .values(importer_name="=cmd|' /C calc'!A0")
        )
    rows = exported_rows(app, "/declarations?size=10")
    assert len(rows) == 300  # every page, not the one shown
    assert list(rows[0]) == [
        "Declaration", "Lodged at", "Office", "Importer", "Importer name", "Declarant",
        "Channel", "Risk score", "Revenue at stake", "Case",
    ]  # fmt: skip
    named = next(r for r in rows if r["Declaration"] == victim["declaration_id"])
    assert named["Importer name"] == "'=cmd|' /C calc'!A0"
    red = exported_rows(app, "/declarations?channel=red")
    assert {r["Channel"] for r in red} == {"red"}
    assert len(red) == len([r for r in truth if r.get("channel") == "red"])
    workbook = app.get("/declarations?channel=red&export=xlsx")
    assert workbook.status_code == 200
    assert 'filename="declarations.xlsx"' in workbook.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(workbook.content)) as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") == len(red) + 1
    app.cookies.set("tamis_lang", "fr")
    french = exported_rows(app, "/declarations?channel=red")
    assert "Circuit" in french[0] and {r["Circuit"] for r in french} == {"rouge"}


HOSTILE = {  # a filter value -> the field the refusal names, as the page names it
    "page=-1": "Page",
    "page=0": "Page",
    "page=" + "9" * 40: "Page",
    "size=100000": "Rows per page",
    "size=abc": "Rows per page",
    "hs=84%25": "HS code or chapter",
    "hs=1": "HS code or chapter",
    "detector=nobody": "Flagged by",
    "from=2026-13-40": "From",
    "to=yesterday": "To",
    "score_min=2": "Score from",
    "score_max=-0.1": "Score up to",
    "channel=purple": "Channel",
    "order=sideways": "Order",
    "export=pdf": "Export format",
    "office=" + "X" * 65: "Office",
}


def test_hostile_filter_values_are_refused_naming_the_field(app):
    for query, field in HOSTILE.items():
        answer = app.get(f"/declarations?{query}")
        assert answer.status_code == 422, query
        assert f"{field}: " in unescape(answer.text), query
    app.cookies.set("tamis_lang", "fr")
    french = unescape(app.get("/declarations?hs=84x&detector=nobody").text)
    assert "Code SH ou chapitre : 2 à 10 chiffres sont attendus" in french.replace("\u202f", " ")
    assert "n’est pas un détecteur" in french


def test_old_links_to_one_declaration_still_open_it(app, truth):
    answer = app.get("/declarations?id=" + truth[0]["declaration_id"].lower())
    assert answer.status_code == 303
    assert answer.headers["location"] == "/declarations/" + truth[0]["declaration_id"]


def test_declarations_link_to_their_case(app):
    engine = app.app.state.engine
    with engine.connect() as conn:
        case_id, declaration_id = conn.execute(
            select(case_table.c.case_id, case_table.c.declaration_id).limit(1)
        ).one()
    page = app.get("/declarations?size=500&channel=red").text
    row = re.search(rf'<tr>\s*<td><a href="/declarations/{declaration_id}">.*?</tr>', page, re.S)
    assert row and f'href="/cases/{case_id}"' in row[0]


def test_case_queue_filters_sorts_pages_and_exports(app, truth):
    engine = app.app.state.engine
    with engine.connect() as conn:
        every = [dict(r._mapping) for r in conn.execute(select(case_table))]
    assert every, "the store should have opened cases"
    first = every[0]
    cases.assign(engine, first["case_id"], "analyst-web", "test")
    opened = [c for c in every if c["status"] == "open"]
    queue = app.get("/cases?size=500")
    assert queue.status_code == 200
    assert sorted(map(int, CASE_LINK.findall(queue.text))) == sorted(c["case_id"] for c in opened)
    assert shown_total(queue.text) == len(opened)
    mine = app.get("/cases?mine=true").text
    assert CASE_LINK.findall(mine) == [str(first["case_id"])]
    assert CASE_LINK.findall(app.get("/cases?assignee=analyst-web").text) == [str(first["case_id"])]
    by_office = app.get(f"/cases?status=any&office={first['office']}").text
    assert shown_total(by_office) == len([c for c in every if c["office"] == first["office"]])
    importer = next(
        r["importer_id"] for r in truth if r["declaration_id"] == first["declaration_id"]
    )
    by_importer = app.get(f"/cases?status=any&size=500&importer={importer}").text
    assert str(first["case_id"]) in CASE_LINK.findall(by_importer)
    channel = next(r["channel"] for r in truth if r["declaration_id"] == first["declaration_id"])
    assert str(first["case_id"]) in CASE_LINK.findall(
        app.get(f"/cases?size=500&channel={channel}").text
    )
    assert CASE_LINK.findall(app.get("/cases?origin=watchlist").text) == []
    today = date.today().isoformat()
    assert shown_total(app.get(f"/cases?status=any&from={today}&to={today}").text) == len(every)
    assert shown_total(app.get("/cases?status=any&to=2000-01-01").text) is None
    paged = app.get("/cases?status=any&size=2&sort=opened&order=asc").text
    assert f"1–{min(2, len(every))} of {len(every)}" in paged
    scores = [
        float(r["Risk score"] or 0) for r in exported_rows(app, "/cases?status=any&sort=score")
    ]
    assert scores == sorted(scores, reverse=True) and len(scores) == len(every)
    book = app.get("/cases?status=any&export=xlsx")
    with zipfile.ZipFile(io.BytesIO(book.content)) as opened_book:
        assert (
            opened_book.read("xl/worksheets/sheet1.xml").decode().count("<row ") == len(every) + 1
        )
    assert app.get("/cases?status=shut").status_code == 422
    assert app.get("/cases?page=-1").status_code == 422


def test_search_finds_a_declaration_a_case_an_importer_and_an_hs_chapter(app, truth):
    engine = app.app.state.engine
    with engine.connect() as conn:
        case_id = conn.execute(select(case_table.c.case_id).limit(1)).scalar()
    declaration_id, importer = truth[0]["declaration_id"], truth[0]["importer_id"]
    where = lambda q: app.get("/search", params={"q": q}).headers.get("location")  # noqa: E731
    assert where(declaration_id.lower()) == f"/declarations/{declaration_id}"
    assert where(f"#{case_id}") == where(f"case {case_id}") == f"/cases/{case_id}"
    assert where(f"  {importer.lower()} ") == f"/importers/{importer}"
    assert where("84") == "/declarations?hs=84"
    found = app.get("/declarations?hs=84")
    assert shown_total(found.text) == len(
        [r for r in truth if any(h.startswith("84") for h in r["hs_codes"])]
    )
    prefix = declaration_id[:-2]
    page = app.get("/search", params={"q": prefix})
    assert page.status_code == 200 and f'href="/declarations/{declaration_id}"' in page.text
    importers = app.get("/search", params={"q": importer[:-1]})
    assert f'href="/importers/{importer}"' in importers.text
    app.cookies.set("tamis_lang", "fr")
    nothing = app.get("/search", params={"q": "%_' OR 1=1 --"})
    assert nothing.status_code == 200 and "Rien trouvé pour" in nothing.text
    assert app.get("/search", params={"q": "x" * 201}).status_code == 422


def test_readers_may_list_and_search_others_may_not(app):
    for role in ("admin", "analyst", "inspector", "supervisor", "auditor"):
        signed_in(app, role)
        for url in ("/declarations", "/cases", "/search?q=D2025", "/declarations?export=csv"):
            assert app.get(url).status_code == 200, (role, url)
        page = app.get("/declarations").text
        assert 'href="/declarations"' in page and 'action="/search"' in page
    signed_in(app, "partner")
    for url in ("/declarations", "/cases", "/search?q=D2025", "/declarations?export=csv"):
        assert app.get(url).status_code == 403, url
    assert 'href="/declarations"' not in app.get("/", follow_redirects=True).text


def test_pages_are_counted_from_a_whole_number_on_both_stores(app, truth):
    """PostgreSQL sums the scoreboard's counts as NUMERIC: a total of 3 in pages of 2 was
    one page, its third declaration out of reach."""
    filters = declaration_list.DeclarationFilters(channel="red")
    red = sum(1 for r in truth if r.get("channel") == "red")
    found = declaration_list.declarations_page(app.app.state.engine, filters, size=2)
    assert type(found.total) is int and found.total == red
    assert found.pages == -(-red // 2)
