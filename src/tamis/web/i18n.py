"""Languages of the dashboard: one message catalogue per language (``messages/*.yaml``),
chosen by the ``tamis_lang`` cookie, else the browser's Accept-Language; French first."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from fastapi import Request

LANGUAGES = ("fr", "en")  # the first is the default
COOKIE = "tamis_lang"
MESSAGES = Path(__file__).parent / "messages"


@cache
def catalogue(language: str) -> dict[str, str]:
    with open(MESSAGES / f"{language}.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def language_of(request: Request) -> str:
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    weighted = []
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weighted.append((float(q or 1), tag.split("-")[0].lower()))
        except ValueError:
            continue
    for _, tag in sorted(weighted, reverse=True):
        if tag in LANGUAGES:
            return tag
    return LANGUAGES[0]


class Translator:
    """``t("key", name=value)``: the message in the language, its {placeholders} filled;
    numbers written the language's way."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.messages = catalogue(language)

    def __call__(self, key: str, **values) -> str:
        text = self.messages.get(key) or catalogue(LANGUAGES[0]).get(key) or key
        return text.format(**values) if values else text

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        text = f"{value:,.{digits}f}"
        if self.language == "fr":
            text = text.replace(",", "\u202f").replace(".", ",")
        return text

    def money(self, minor: int | None) -> str:
        return "—" if minor is None else self.number(minor / 100)

    def percent(self, share: float | None) -> str:
        return "—" if share is None else f"{self.number(100 * share, 1)}\u00a0%"
