"""A declaration item's value chart: in the page's language, drawn once per reference,
declared value and language and then kept, and kept by the browser until it changes."""

from __future__ import annotations

import re

import pytest

from tamis.valuation import chart as drawing
from tamis.valuation import database
from tests.stores import assessed_store
from tests.test_web import browser_login

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def chart_url(anonymous, tmp_path) -> str:
    """The chart of the first assessed declaration's item that has a value reference."""
    engine = anonymous.app.state.engine
    decided = assessed_store(engine, tmp_path, declarations=300)
    database.build(engine)
    anonymous.follow_redirects = False
    browser_login(anonymous, "analyst")
    for declaration_id in decided["declaration_id"]:
        page = anonymous.get(f"/declarations/{declaration_id}")
        found = re.search(r'src="(/declarations/[^"]+/reference\.png)"', page.text)
        if found:
            return found[1]
    pytest.fail("no item of the assessed store has a value reference")


def test_a_chart_is_drawn_once_per_language_then_kept(anonymous, chart_url, monkeypatch):
    drawn = []
    draw = drawing.reference_chart
    monkeypatch.setattr(drawing, "reference_chart", lambda *a: drawn.append(a[-1]) or draw(*a))
    database._charts.clear()
    french = anonymous.get(chart_url)
    assert french.status_code == 200 and french.headers["content-type"] == "image/png"
    assert french.content.startswith(PNG)
    assert anonymous.get(chart_url).content == french.content
    anonymous.cookies.set("tamis_lang", "en")
    english = anonymous.get(chart_url)
    assert english.content.startswith(PNG) and english.content != french.content
    assert [t.language for t in drawn] == ["fr", "en"]  # the second French one was kept


def test_the_browser_keeps_a_chart_until_it_changes(anonymous, chart_url):
    first = anonymous.get(chart_url)
    assert "max-age" in first.headers["cache-control"] and first.headers["etag"]
    again = anonymous.get(chart_url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = anonymous.get(chart_url, headers={"If-None-Match": '"something else"'})
    assert other.status_code == 200 and other.content == first.content


def test_a_chart_for_an_item_without_a_reference_is_not_found(anonymous, chart_url):
    missing = anonymous.get(re.sub(r"/items/\d+/", "/items/999/", chart_url))
    assert missing.status_code == 404
