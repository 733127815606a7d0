"""Languages of the dashboard: message catalogues per language (``messages/{language}.yaml``
and one per area, ``messages/{area}.{language}.yaml``), chosen by the ``tamis_lang`` cookie,
else the browser's Accept-Language; French first. Numbers, amounts and dates are written
the language's way by Babel (CLDR)."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from pathlib import Path

import yaml
from babel import Locale, dates, numbers
from fastapi import Request

from tamis.channels import NAMES
from tamis.reasons import LANGUAGES, LOCALES, date_said, month_said
from tamis.settings import settings

COOKIE = "tamis_lang"
MESSAGES = Path(__file__).parent / "messages"


@cache
def catalogue(language: str) -> dict[str, str]:
    """The language's messages, the channels' names among them (``channel.red``); a key
    given by two files is an error (one would silently hide the other)."""
    messages = {f"channel.{c}": name for c, name in NAMES.get(language, {}).items()}
    files = [MESSAGES / f"{language}.yaml", *sorted(MESSAGES.glob(f"*.{language}.yaml"))]
    for path in files:
        with open(path, encoding="utf-8") as handle:
            part = yaml.safe_load(handle) or {}
        twice = sorted(set(part) & set(messages))
        if twice:
            raise ValueError(f"{path.name}: message keys already given elsewhere: {twice}")
        messages |= part
    return messages


def language_of(request: Request) -> str:
    """The dashboard's language: the cookie's, else the browser's, else French."""
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return accepted_language(request, LANGUAGES[0])


def accepted_language(request: Request, default: str) -> str:
    """The language of ours the Accept-Language header prefers most, else ``default``
    (the API's clients are programs: it answers English unless asked)."""
    weighted = []
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weighted.append((float(q or 1), tag.split("-")[0].lower()))
        except ValueError:
            continue
    for q, tag in sorted(weighted, reverse=True):
        if tag in LANGUAGES and q > 0:  # q=0: not wanted
            return tag
    return default


def typed(amount: str) -> str:
    """An amount as people type it: '1 234,56' is 1234.56."""
    for space in ("\u202f", "\u00a0", " "):
        amount = amount.replace(space, "")
    return amount.replace(",", ".")


def typed_day(day: str) -> str:
    """A day as people type it: '30/06/2026' is 2026-06-30 (ISO days pass as they are)."""
    parts = day.strip().split("/")
    if len(parts) == 3 and all(p.isdigit() for p in parts):
        return f"{parts[2]:0>4}-{parts[1]:0>2}-{parts[0]:0>2}"
    return day


class Translator:
    """``t("key", name=value)``: the message in the language, its {placeholders} filled;
    numbers written the language's way."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.messages = catalogue(language)

    def __call__(self, key: str, **values) -> str:
        text = self.messages.get(key) or catalogue(LANGUAGES[0]).get(key) or key
        return text.format(**values) if values else text

    def detector(self, name: str) -> str:
        """A detector's name for people: the registry's label, or a pseudo-detector's
        message (the scoreboard's random control)."""
        from tamis.detectors.registry import label

        key = f"detector.{name}"
        return self(key) if key in self.messages else label(name, self.language)

    def reason(self, stored: str) -> str:
        """A stored reason in words (a code's template, or text stored as words as is)."""
        from tamis.reasons import render

        return render(stored, self.language)

    @property
    def locale(self) -> str:
        return LOCALES.get(self.language, self.language)

    def number(self, value: float | int | None, digits: int = 0) -> str:
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return numbers.format_decimal(value, pattern, locale=self.locale)

    def signed(self, value: float, digits: int = 0) -> str:
        """A change, its sign always written: +0,31 and −0,12."""
        return ("+" if value >= 0 else "−") + self.number(abs(value), digits)

    def money(self, minor: int | None) -> str:
        """An amount in whole units, for figures over many declarations."""
        return "—" if minor is None else self.number(minor / 100)

    def amount(self, minor: int | None) -> str:
        """To the cent, as a ledger says it (``money`` rounds to whole units)."""
        return "—" if minor is None else self.number(minor / 100, 2)

    def currency(self, minor: int | None, code: str | None = None) -> str:
        """To the cent with the currency named (the national one unless said):
        ``12 345,67 MAD``."""
        if minor is None:
            return "—"
        return f"{self.amount(minor)}\u00a0{code or settings().national_currency}"

    def percent(self, share: float | None) -> str:
        """A share to a tenth of a percent: « 12,3 % » in French, "12.3%" in English."""
        if share is None:
            return "—"
        pattern = Locale.parse(self.locale).percent_formats[None].pattern
        return numbers.format_percent(
            share, pattern.replace("#,##0", "#,##0.0"), locale=self.locale
        )

    def date(self, value: date | datetime | str | None) -> str:
        """A day as the language writes it: 07/12/2026 in French and in British English."""
        if value is None or value == "":
            return "—"
        return date_said(value, self.language)

    def month(self, value: date | str) -> str:
        """A month as an axis or a list names it: « déc. 2026 », "Dec 2026"."""
        return month_said(value, self.language)

    def day(self, value: date) -> str:
        """A day within a period, shortly: « 7 déc. », "7 Dec"."""
        return dates.format_date(value, "d MMM", locale=self.locale)

    def datetime(self, value: datetime | str | None) -> str:
        """A moment to the minute: 07/12/2026 14:05."""
        if value is None or value == "":
            return "—"
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            return self.date(value)
        return f"{self.date(value)} {value:%H:%M}"
