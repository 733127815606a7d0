"""Reasons as data: a code and the figures behind it, put in words only where a person reads
them, in that person's language.

A reason is stored as a compact JSON object, ``{"code": "valuation.under", "item": 2, ...}``;
its wording, per language, is a template in ``data/reasons/*.yaml`` (a file per concept).
A stored reason that is not such an object (decisions made before codes existed, free
text) reads as it was written.

Templates fill ``{field}`` or ``{field:spec}``; a spec is a Python format spec or one of
``FORMATS`` (``figure``, ``hs``, ``origin``, ``month``, ``channel``). ``[...]`` is said only
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

from tamis.channels import channel_name
from tamis.regions import REGION_NAMES

LANGUAGES = ("fr", "en")  # the first is the default where nobody says
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


def figure(x: float) -> str:
    """A unit value or amount with the digits a person needs."""
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.2f}" if abs(x) >= 1 else f"{x:.3g}"


def hs_label(code: str) -> str:
    return ".".join([code[:4], *(code[i : i + 2] for i in range(4, len(code), 2))])


def origin_label(origin: str, language: str = "en") -> str:

    if origin == "*":
        return "toutes origines" if language == "fr" else "all origins"
    return f"{REGION_NAMES[origin]} ({origin})" if origin in REGION_NAMES else origin


def _month(value) -> str:
    value = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return f"{value:%Y-%m}"


FORMATS = {
    "figure": lambda v, lang: figure(v),
    "hs": lambda v, lang: hs_label(v),
    "origin": origin_label,
    "month": lambda v, lang: _month(v),
    "channel": channel_name,
}
_SEGMENT = re.compile(r"(?<!\\)\[((?:[^\[\]]|\\\[|\\\])*?)(?<!\\)\]")
_FIELD = re.compile(r"\{(\w+)(?::([^{}]*))?\}")


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
