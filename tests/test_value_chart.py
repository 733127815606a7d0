"""A declaration item's value chart: an SVG drawn from its reference's data in the page's
language (no matplotlib), kept by the browser until it changes; the older PNG address still
answers, drawn once per reference, declared value and language and then kept."""

from __future__ import annotations

import re
from datetime import datetime
from xml.etree import ElementTree

import polars as pl
import pytest

from tamis.valuation import chart as drawing
from tamis.valuation import database
from tamis.valuation.svg import value_chart
from tamis.web.i18n import Translator
from tests.stores import assessed_store
from tests.test_web import browser_login

PNG = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}"


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
        found = re.search(r'src="(/declarations/[^"]+/reference\.svg)"', page.text)
        if found:
            return found[1]
    pytest.fail("no item of the assessed store has a value reference")


def texts(svg: str) -> list[str]:
    return [e.text for e in ElementTree.fromstring(svg).iter(f"{SVG}text") if e.text]


def test_a_chart_is_an_svg_in_the_pages_language_drawn_without_matplotlib(
    anonymous, chart_url, monkeypatch
):
    monkeypatch.setattr(drawing, "reference_chart", lambda *a: pytest.fail("matplotlib"))
    french = anonymous.get(chart_url)
    assert french.status_code == 200 and french.headers["content-type"] == "image/svg+xml"
    root = ElementTree.fromstring(french.text)
    assert root.get("role") == "img" and root.get("aria-label")
    assert root.find(f"{SVG}title").text == root.get("aria-label")
    said = texts(french.text)
    assert {"articles", "médiane de référence", "valeur déclarée"} <= set(said)
    assert any(s.startswith("valeur unitaire, MAD/") for s in said)
    assert "historique" in root.get("aria-label")
    anonymous.cookies.set("tamis_lang", "en")
    english = texts(anonymous.get(chart_url).text)
    assert {"items", "reference median", "declared"} <= set(english)
    assert not {"articles", "valeur déclarée"} & set(english)


def test_the_browser_keeps_a_chart_until_it_changes(anonymous, chart_url):
    first = anonymous.get(chart_url)
    assert "max-age" in first.headers["cache-control"] and first.headers["etag"]
    again = anonymous.get(chart_url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = anonymous.get(chart_url, headers={"If-None-Match": '"something else"'})
    assert other.status_code == 200 and other.content == first.content


def test_a_chart_for_an_item_without_a_reference_is_not_found(anonymous, chart_url):
    for url in (chart_url, chart_url.replace(".svg", ".png")):
        missing = anonymous.get(re.sub(r"/items/\d+/", "/items/999/", url))
        assert missing.status_code == 404
    assert anonymous.get(re.sub(r"/items/\d+/", "/items/one/", chart_url)).status_code == 422
    unknown = re.sub(r"/declarations/[^/]+/", "/declarations/NOPE/", chart_url)
    assert anonymous.get(unknown).status_code == 404


def test_the_png_address_is_drawn_once_per_language_then_kept(anonymous, chart_url, monkeypatch):
    png_url = chart_url.replace(".svg", ".png")
    drawn = []
    draw = drawing.reference_chart
    monkeypatch.setattr(drawing, "reference_chart", lambda *a: drawn.append(a[-1]) or draw(*a))
    database._charts.clear()
    french = anonymous.get(png_url)
    assert french.status_code == 200 and french.headers["content-type"] == "image/png"
    assert french.content.startswith(PNG)
    assert anonymous.get(png_url).content == french.content
    anonymous.cookies.set("tamis_lang", "en")
    english = anonymous.get(png_url)
    assert english.content.startswith(PNG) and english.content != french.content
    assert [t.language for t in drawn] == ["fr", "en"]  # the second French one was kept


def reference(**figures) -> dict:
    return {
        "source": "history", "level": "hs6/origin", "hs_code": "851762", "origin": "CN",
        "basis": "KG", "n": 1234, "median_uv": 3.2, "q1_uv": 2.5, "q3_uv": 4.1,
        "window_start": datetime(2025, 1, 1), "window_end": datetime(2026, 1, 1),
    } | figures  # fmt: skip


def test_axis_numbers_are_written_the_pages_way():
    bins = pl.DataFrame({"v": [0.02 * b for b in range(-60, 120)], "items": [1500] * 180})
    for language, tenth in (("fr", "0,1"), ("en", "0.1")):
        t = Translator(language)
        said = texts(value_chart(reference(), bins, 0.05, "MAD", t))
        assert {tenth, "1", "10", t.number(500), t.number(1500)} <= set(said)
        assert any(s.endswith(t.number(1234)) for s in said)  # the title's count


def test_an_analyst_reference_without_bins_is_drawn_and_its_words_escaped():
    hostile = reference(source='<script>alert("x")</script>', q1_uv=None, q3_uv=None, n=None)
    svg = str(value_chart(hostile, None, None, "MAD", Translator("fr")))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    said = texts(svg)
    assert "médiane de référence" in said and "valeur déclarée" not in said
    assert "écart interquartile" not in said
