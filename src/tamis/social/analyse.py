"""What a post says that targeting can use: the brands it names, whether it sells copies,
its prices, phones (WhatsApp links too) and places. Read once, when the post comes in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tamis.social.brands import DEFAULT_ALIASES, BrandMatcher
from tamis.social.contacts import phones, places
from tamis.social.prices import prices


@dataclass(frozen=True)
class Reading:
    brands: list[str]
    copy_words: list[str]  # empty unless the post sells copies of a brand it names
    prices: list[float]  # dirhams
    phones: list[str]  # E.164
    places: list[str]

    @property
    def copy_ad(self) -> bool:
        return bool(self.copy_words)


def matcher_for(brands: Iterable[str]) -> BrandMatcher:
    """A matcher of the register's brands, each with the spellings posts use when Tamis
    knows them (``DEFAULT_ALIASES``); no register: the brands Tamis knows."""
    names = sorted(set(brands)) or sorted(DEFAULT_ALIASES)
    known = {brand.casefold(): aliases for brand, aliases in DEFAULT_ALIASES.items()}
    return BrandMatcher({name: known.get(name.casefold(), []) for name in names})


def read_post(text: str, matcher: BrandMatcher) -> Reading:
    brands = list(dict.fromkeys(m.brand for m in matcher.find_brands(text)))
    copy_words = matcher.copy_wording(text) if brands and matcher.is_copy_ad(text) else []
    return Reading(
        brands=brands,
        copy_words=copy_words,
        prices=[float(p.amount) for p in prices(text)],
        phones=[p.e164 for p in phones(text)],  # WhatsApp links among them
        places=places(text),
    )
