"""Prices in dirhams written in social-media posts: "250 DH", "٢٥٠ درهم", "b 250",
"5000 ryal". A number counts as a price only with a currency after it or a price word
before it, so sizes, phone digits, dates and counts are left alone."""

import re
from decimal import Decimal
from typing import NamedTuple

from tamis.social.contacts import clean

CURRENCY = "MAD"  # every price found is said in dirhams
# How posts write the dirham, and the ryal (rial, ريال): a twentieth of a dirham,
# still how prices are said in much of Morocco.
DIRHAM_WORDS = (
    "dh",
    "dhs",
    "dhs.",
    "mad",
    "dirham",
    "dirhams",
    "drh",
    "درهم",
    "دراهم",
    "د.م",
    "dhm",
)
RYAL_WORDS = ("ryal", "ryals", "rial", "rials", "riyal", "reyal", "ريال", "ريالات")
RYALS_PER_DIRHAM = 20
# Words before a bare number that make it a price; "b" is Darija "for" (b 250).
PRICE_WORDS = ("prix", "price", "taman", "tamane", "ثمن", "الثمن", "السعر", "b", "ب", "bi")

# 1.200 / 1 200 / 1,200 are thousands; 250,50 and 12.5 are decimals.
_AMOUNT = r"(?<!\d )\d{1,3}(?:[ .,]\d{3})+(?:[.,]\d{1,2})?(?!\d)|\d{1,7}(?:[.,]\d{1,2})?(?!\d)"
# Not inside a longer number (a phone, a date).
_START = r"(?<![\d.,/])"


def _words(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_SUFFIXED = re.compile(
    rf"{_START}(?P<a>{_AMOUNT})(?:\s*(?:-|à|a|/|ila|ل)\s*(?P<b>{_AMOUNT}))?"
    rf"\s*(?P<cur>{_words(DIRHAM_WORDS)}|{_words(RYAL_WORDS)})(?!\w)",
    re.I,
)
_PREFIXED = re.compile(
    rf"(?<!\w)(?:{_words(PRICE_WORDS)})\s*[:=]?\s*(?P<a>{_AMOUNT})(?![\d%])(?!\s*%)",
    re.I,
)


class Price(NamedTuple):
    amount: Decimal
    currency: str
    raw: str
    start: int
    end: int


def _decimal(written: str) -> Decimal:
    """1.200 -> 1200, 1 200 -> 1200, 250,50 -> 250.50."""
    groups = re.split(r"[ .,]", written)
    if len(groups) > 1 and len(groups[-1]) in (1, 2):
        return Decimal("".join(groups[:-1]) + "." + groups[-1])
    return Decimal("".join(groups))


def prices(text: str) -> list[Price]:
    """Prices in the text, in dirhams, in order; a range gives both its ends."""
    cleaned, where = clean(text)
    found: list[tuple[int, int, Decimal]] = []
    for m in _SUFFIXED.finditer(cleaned):
        per = RYALS_PER_DIRHAM if m["cur"].lower() in RYAL_WORDS else 1
        for group in ("a", "b"):
            if m[group]:
                found.append((m.start(group), m.end(), _decimal(m[group]) / per))
    taken = [(s, e) for s, e, _ in found]
    for m in _PREFIXED.finditer(cleaned):
        if not any(s <= m.start("a") < e for s, e in taken):
            found.append((m.start(), m.end(), _decimal(m["a"])))
    result = []
    for start, end, amount in sorted(found):
        first, last = where[start], where[end - 1] + 1
        result.append(Price(amount, CURRENCY, text[first:last], first, last))
    return result
