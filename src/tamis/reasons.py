"""Reasons as data: a code and the figures behind it, put in words only where a person reads
them, in that person's language.

A reason is stored as a compact JSON object, ``{"code": "valuation.under", "item": 2, ...}``;
its wording, per language, is a template in ``data/reasons/*.yaml`` (a file per concept).
A stored reason that is not such an object (decisions made before codes existed, free
text) reads as it was written.

Templates fill ``{field}`` or ``{field:spec}``; a spec is a Python format spec or one of
``FORMATS`` (``figure``, ``hs``, ``origin``, ``month``, ``date``, ``channel``, ``terms``: words
of a figure, e.g. alert kinds, said through the ``term.*`` wordings). Numbers are written the
language's way (12 345,6 in French). ``[...]`` is said only
when every field inside it has a value (not null, not false); a field whose value is itself
a reason (an object with a code) is said with that reason's template. ``\\[`` and ``\\]``
are literal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from pathlib import Path

import yaml
from babel import dates

from tamis.channels import channel_name
from tamis.regions import REGION_NAMES

LANGUAGES = ("fr", "en")  # the first is the default where nobody says
# The locale whose conventions each language writes with: 1 234,56 and 07/12/2026 in French.
LOCALES = {"fr": "fr_FR", "en": "en_GB"}
NARROW_SPACE = "\u202f"  # CLDR's French thousands separator
CATALOGUE = Path(__file__).parent / "data" / "reasons"


def reason(code: str, **figures) -> str:
    """One reason, as stored: its code and figures as a JSON object."""
    return json.dumps({"code": code} | figures, ensure_ascii=False, separators=(",", ":"))


def reason_expr(code: str, **figures):
    """``reason`` for every row of a frame: ``figures`` are Polars expressions (or values);
    a null figure is kept as null."""
    return reason_struct(code, **figures).struct.json_encode()


def reason_struct(code: str, **figures):
    """The struct behind ``reason_expr``: a figure of another reason (said within it)."""
    import polars as pl

    fields = [pl.lit(code).alias("code")]
    fields += [(f if isinstance(f, pl.Expr) else pl.lit(f)).alias(k) for k, f in figures.items()]
    return pl.struct(fields)


def parse(stored: str) -> dict | None:
    """The code and figures of a stored reason, or None for free text."""
    if not stored.startswith('{"code":'):
        return None
    try:
        found = json.loads(stored)
    except ValueError:
        return None
    return found if isinstance(found, dict) and isinstance(found.get("code"), str) else None


def code_of(stored: str) -> str | None:
    found = parse(stored)
    return None if found is None else found["code"]


@cache
def templates() -> dict[str, dict[str, str]]:
    wordings = {}
    for path in sorted(CATALOGUE.glob("*.yaml")):
        with open(path, encoding="utf-8") as handle:
            wordings |= yaml.safe_load(handle) or {}
    return wordings


def render(stored: str | dict, language: str = "en") -> str:
    """A reason in words, in ``language`` (English where the catalogue lacks it)."""
    found = stored if isinstance(stored, dict) else parse(stored)
    if found is None:
        return stored
    wording = templates().get(found["code"])
    if wording is None:  # a code this version does not know: its figures, plainly
        figures = ", ".join(f"{k}={v}" for k, v in found.items() if k != "code")
        return f"{found['code']}: {figures}"
    template = wording.get(language) or wording["en"]
    return _fill(template, found, language)


def render_all(stored: Iterable[str], language: str = "en") -> list[str]:
    return [render(r, language) for r in stored]


def figure(x: float, language: str = "en") -> str:
    """A unit value or amount with the digits a person needs."""
    if abs(x) >= 100:
        said = f"{x:,.0f}"
    else:
        said = f"{x:.2f}" if abs(x) >= 1 else f"{x:.3g}"
    return localised(said, language)


def localised(number: str, language: str) -> str:
    """A number Python formatted (1,234.5, 12%) as ``language`` writes it."""
    if language != "fr":
        return number
    swapped = number.translate({ord(","): NARROW_SPACE, ord("."): ","})
    return swapped.replace("%", "\u00a0%")


def term(word: str, language: str) -> str:
    """A word a figure holds (an alert kind, a feature's name) in ``language``, through its
    ``term.<word>`` wording; a word without one as it is."""
    wording = templates().get(f"term.{word}")
    return word if wording is None else wording.get(language) or wording["en"]


def _reasons(value, language: str) -> str:
    """Reasons quoted within another (a case opened for a decision's), one after the other."""
    return "; ".join(render(r, language) for r in value)


def _terms(value, language: str) -> str:
    words = value if isinstance(value, list) else str(value).split(" × ")
    joined = ", " if isinstance(value, list) else " × "
    return joined.join(term(str(w), language) for w in words)


def hs_label(code: str) -> str:
    return ".".join([code[:4], *(code[i : i + 2] for i in range(4, len(code), 2))])


def origin_label(origin: str, language: str = "en") -> str:

    if origin == "*":
        return "toutes origines" if language == "fr" else "all origins"
    return f"{REGION_NAMES[origin]} ({origin})" if origin in REGION_NAMES else origin


def _day(value) -> date:
    """A date, or a day or month as ISO text (a moment's time ignored)."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10] if len(value) > 7 else f"{value}-01")
    return value


def month_said(value, language: str) -> str:
    """A month as ``language`` names it: « déc. 2026 », "Dec 2026" (a date or YYYY-MM[-DD])."""
    return dates.format_date(_day(value), "MMM y", locale=LOCALES.get(language, language))


def date_said(value, language: str) -> str:
    """A day as ``language`` writes it: 07/12/2026 (a date, or an ISO text)."""
    return dates.format_date(_day(value), "dd/MM/yyyy", locale=LOCALES.get(language, language))


FORMATS = {
    "figure": lambda v, lang: figure(v, lang),
    "hs": lambda v, lang: hs_label(v),
    "origin": origin_label,
    "month": month_said,
    "date": date_said,
    "channel": channel_name,
    "terms": _terms,
    "reasons": _reasons,
}
_SEGMENT = re.compile(r"(?<!\\)\[((?:[^\[\]]|\\\[|\\\])*?)(?<!\\)\]")
_FIELD = re.compile(r"\{(\w+)(?::([^{}]*))?\}")
_NUMBER = re.compile(r"[-+]?\d[\d,]*(\.\d+)?(%|×)?")


def _fill(template: str, figures: dict, language: str) -> str:
    def present(name: str) -> bool:
        value = figures.get(name)
        return value is not None and value is not False

    def optional(m: re.Match) -> str:
        inside = m.group(1)
        names = _FIELD.findall(inside)
        return inside if all(present(n) for n, _ in names) else ""

    def field(m: re.Match) -> str:
        name, spec = m.group(1), m.group(2) or ""
        value = figures.get(name)
        if isinstance(value, dict) and "code" in value:
            return render(value, language)
        if value is None:
            return "—"
        if spec in FORMATS:
            return FORMATS[spec](value, language)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return localised(format(value, spec) if spec else str(value), language)
        if isinstance(value, str) and not spec and _NUMBER.fullmatch(value):
            return localised(value, language)  # a figure stored already written: 0.41, 40%
        if isinstance(value, datetime | date) or spec == "":
            return format(value, spec) if spec else _plain(value)
        return format(value, spec)

    text = _SEGMENT.sub(optional, template).replace("\\[", "[").replace("\\]", "]")
    return _FIELD.sub(field, text)


def _plain(value) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):  # named values: "field=value, …"
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return str(value)
