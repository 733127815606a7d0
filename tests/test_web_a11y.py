"""Contrast of the dashboard's colours, read from its style sheet: every text at least
4.5:1 against what it is written on (WCAG 2 AA), the channel badges above all."""

from __future__ import annotations

import re

import pytest

from tamis.channels import CHANNELS
from tamis.web.routes import STATIC

CSS = (STATIC / "tamis.css").read_text()
AA = 4.5
PAGE = ("#fff", "var(--bg)")  # what text without a background of its own is written on


def rules(css: str) -> dict[str, dict[str, str]]:
    """selector -> its declarations (a rule of several selectors under each of them)."""
    found: dict[str, dict[str, str]] = {}
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declared = dict(
            (name.strip(), value.strip())
            for name, value in (d.split(":", 1) for d in body.split(";") if ":" in d)
        )
        for selector in selectors.split(","):
            found.setdefault(selector.strip(), {}).update(declared)
    return found


RULES = rules(CSS)
ROOT = RULES[":root"]


def colour(value: str) -> str:
    """A colour as #rrggbb, custom properties resolved."""
    value = value.split()[0] if value.startswith("#") else value
    while (named := re.fullmatch(r"var\((--[\w-]+)\)", value)) is not None:
        value = ROOT[named[1]]
    hexa = value.lstrip("#")
    if value == "#fff" or len(hexa) == 3:
        hexa = "".join(c * 2 for c in hexa)
    assert re.fullmatch(r"[0-9a-fA-F]{6}", hexa), f"not a colour this test reads: {value!r}"
    return hexa.lower()


def luminance(value: str) -> float:
    channels = [int(colour(value)[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(text: str, background: str) -> float:
    light, dark = sorted((luminance(text), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_formula_gives_wcags_figures():
    assert contrast("#000", "#fff") == pytest.approx(21)
    assert contrast("#fff", "#fff") == pytest.approx(1)
    assert contrast("#fff", "#e07b00") == pytest.approx(3.0, abs=0.05)  # the badge of old


@pytest.mark.parametrize("channel", [*CHANNELS, "none"])
def test_every_channel_badge_is_readable(channel):
    badge = RULES[f".channel.{channel}"]
    text = badge.get("color", RULES[".channel"]["color"])
    ratio = contrast(text, badge["background"])
    assert ratio >= AA, f".channel.{channel}: {text} on {badge['background']} is {ratio:.2f}:1"


def test_every_text_with_its_own_background_is_readable():
    """Each rule that sets a background colour and a text colour."""
    pairs = {
        selector: (declared["color"], declared.get("background", declared.get("background-color")))
        for selector, declared in RULES.items()
        if "color" in declared and ("background" in declared or "background-color" in declared)
    }
    assert ".alert" in pairs and ".error" in pairs and "header.top" in pairs
    poor = {
        selector: f"{contrast(text, background):.2f}:1"
        for selector, (text, background) in pairs.items()
        if contrast(text, background) < AA
    }
    assert not poor, poor


def test_every_text_colour_is_readable_on_the_page():
    """Rules that colour text without a background of their own are written on the page."""
    poor = {
        (selector, page): f"{contrast(declared['color'], page):.2f}:1"
        for selector, declared in RULES.items()
        if "color" in declared and "background" not in declared
        and not selector.startswith(("header.top", ".channel"))  # on the header's blue, a badge's
        for page in PAGE
        if contrast(declared["color"], page) < AA
    }  # fmt: skip
    assert not poor, poor


def test_the_header_is_readable():
    header = RULES["header.top"]
    assert contrast("#fff", header["background"]) >= AA


TEMPLATES = STATIC.parent / "templates"
SCROLLING = re.compile(r"\{%-?\s*call\b[^%]*\bscrolling\(.*?\{%-?\s*endcall\s*-?%\}", re.S)


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_every_table_scrolls_in_a_labelled_region_a_keyboard_reaches(template):
    """On a phone a table scrolls sideways: inside the ``scrolling`` macro's region (labelled,
    focusable), never by itself, which a keyboard cannot reach (axe, every page, not only those
    the browser tests visit)."""
    outside = SCROLLING.sub("", (TEMPLATES / template).read_text())
    assert "<table" not in outside
