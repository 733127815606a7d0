"""Brands and copy wording in social-media posts, in French, Arabic and Arabizi.

Offsets in a `BrandMention` index the normalised text (`normalise(text)`), the form an
analyst sees next to the original post.
"""

import functools
import re
from dataclasses import dataclass

import ahocorasick
from rapidfuzz import fuzz, process

from tamis.social.normalise import ONE_AS_L, normalise, skeleton_with_offsets

# Aliases per brand: as posts write it in Latin letters, Arabic script and Arabizi.
# Doubled and dropped letters are generated (see `alias_variants`), not listed.
DEFAULT_ALIASES: dict[str, list[str]] = {
    "Nike": ["nike", "nayk", "nayki", "naik", "naiki", "نايك", "نايكي", "نايكى"],
    "Adidas": ["adidas", "adidass", "اديداس", "ادداس", "أديدس"],
    "Louis Vuitton": [
        "louis vuitton", "vuitton", "louis viton", "louis vitton", "lv",
        "لويس فيتون", "لوي فيتون", "فيتون",
    ],
    "Gucci": ["gucci", "guchi", "gutchi", "غوتشي", "قوتشي", "غوشي", "كوتشي", "گوتشي"],
    "Zara": ["zara", "زارا"],
    "Puma": ["puma", "pouma", "بوما"],
    "Apple": ["apple", "ابل", "آبل", "iphone", "ايفون", "آيفون", "macbook", "airpods"],
    "Samsung": ["samsung", "samsong", "سامسونج", "سامسونغ", "سامسونك"],
    "Chanel": ["chanel", "شانيل", "شانل"],
    "Dior": ["dior", "christian dior", "ديور"],
    "Rolex": ["rolex", "rolix", "رولكس", "روليكس"],
    "Lacoste": ["lacoste", "lacost", "لاكوست", "لاكوسط"],
    "Hermès": ["hermes", "hermès", "هيرميس", "هرمس", "ارمس"],
    "Balenciaga": ["balenciaga", "balanciaga", "بالنسياغا", "بالنسياجا"],
    "Versace": ["versace", "versachi", "فيرساتشي", "فرساتشي"],
    "Levi's": ["levis", "levi's", "levi", "ليفايس", "ليفيس", "ليفايز", "ليفاي"],
    "Ray-Ban": ["rayban", "ray ban", "ray-ban", "rb", "راي بان", "رايبان", "ريبان"],
    "L'Oreal": ["loreal", "l'oreal", "l oreal", "لوريال", "لوريل"],
    "Philips": ["philips", "filips", "فيليبس", "فيلبس", "فيليپس"],
    "Bosch": ["bosch", "boch", "بوش"],
    "Nivea": ["nivea", "nivia", "نيفيا", "نيڤيا"],
    "Sanofi": ["sanofi", "سانوفي"],
    "Pfizer": ["pfizer", "fizer", "فايزر", "فايزير"],
    "Michelin": ["michelin", "mishlan", "ميشلان", "ميشلين"],
    "Xiaomi": ["xiaomi", "xiomi", "shaomi", "شاومي", "شياومي"],
    "Lenovo": ["lenovo", "لينوفو"],
    "Sony": ["sony", "سوني"],
    "LG": ["lg", "ال جي", "إل جي"],
    "HP": ["hp", "اتش بي", "إتش بي"],
    "Nintendo": ["nintendo", "نينتندو"],
    "Nescafe": ["nescafe", "nescafé", "نسكافيه", "نيسكافي"],
    "Lego": ["lego", "ليغو", "ليجو"],
    "Mattel": ["mattel", "matel", "ماتيل"],
    "Casio": ["casio", "كاسيو"],
}  # fmt: skip

# Aliases that are also ordinary words (a fruit, an animal, a name, camels in Arabic)
# count only with a product word nearby: each such spelling is listed, not its brand.
DEFAULT_AMBIGUOUS = {"apple", "ابل", "آبل", "puma", "pouma", "بوما", "zara", "زارا", "lv", "هرمس",
                     "ارمس", "rb", "lg", "hp", "بوش"}  # fmt: skip

# Things counterfeits are sold as, in the three scripts; Arabic prefixes (ال، و، ب...)
# are stripped before looking a word up.
PRODUCT_WORDS = {
    # footwear
    "shoes", "shoe", "chaussure", "chaussures", "sneakers", "sneaker", "basket", "baskets",
    "sabbat", "sebbat", "sbabet", "sbabat", "sbat", "sbrdila", "sberdila", "espadrille",
    "صباط", "سباط", "سبابط", "صبابط", "سبرديله", "سبرديلات", "حذاء", "احذيه",
    "claquette", "claquettes",
    "air", "max", "jordan", "yeezy", "stan", "superstar", "pointure",
    # bags and small leather
    "sac", "sacs", "bag", "bags", "sacoche", "pochette", "portefeuille", "wallet",
    "ceinture", "belt", "شكاره", "صاك", "ساك", "بزطام", "مطيشه", "sak", "chkara", "shkara",
    # clothes
    "tshirt", "shirt", "maillot", "survetement", "jogging", "ensemble", "pull", "hoodie",
    "sweat", "veste", "jacket", "casquette", "cap", "polo", "chemise", "jean", "short",
    "robe", "تيشورت", "قميص", "كسوه", "سورفيتمون", "جاكيط", "كاسكيط",
    # watches, phones, perfume
    "montre", "montres", "watch", "watches", "ساعه", "سوايع", "iphone", "ipad",
    "airpods", "macbook", "galaxy", "phone", "telephone", "portable", "chargeur", "coque",
    "تليفون", "هاتف", "بورطابل", "parfum", "parfums", "perfume", "عطر", "عطور",
    "lunettes", "sunglasses", "نظارات", "collection", "ndader", "nadader", "نضاضر", "نظاظر",
    # electronics, appliances, toys, medicines, everyday goods
    "pc", "ordinateur", "laptop", "tablette", "tablet", "tilifon", "tilifoun", "telefone",
    "ecouteurs", "casque", "tv", "tele", "television", "frigo", "refrigerateur", "mixeur",
    "blender", "robot", "lampe", "lampa", "lustre", "ampoule", "aspirateur", "machine",
    "kora", "ballon", "ballons", "jouet", "jouets", "poupee", "lo3ba", "لعبه", "لعب", "كوره",
    "pneu", "pneus", "roue", "dwa", "دواء", "دوا", "حبوب", "medicament", "creme", "shampooing",
    "شامبو", "كريم", "cafe", "قهوه", "ثلاجه", "خلاط", "فريجيدير", "ماكينه", "مانيط", "كونسول",
    "كره", "غساله", "تلفازه", "ثريا", "بيسي", "فرانات", "tlaja", "console", "manette",
    "ecran", "lave", "linge", "tlfaza", "tilfaza", "srawel", "serwal", "bolat", "l3ibat",
    "espadrilles", "pantalon", "jeans", "machina", "robo", "روبو", "حاسوب", "تلفزيون", "قطع",
}  # fmt: skip

# Words that say "copy", in French, English, Arabic and Darija, in matching form.
COPY_WORDS = [
    "high copy", "hi copy", "hight copy", "haute copie", "haute qualite copie",
    "copie conforme", "copie", "copies", "copy", "first copy", "master copy",
    "replique", "repliques", "replica", "replika", "1:1", "aaa", "aaa+", "miroir",
    "qualite miroir", "mirror", "mirror quality", "imitation", "contrefacon", "fake",
    "هاي كوبي", "كوبي", "كوبي وان", "تقليد", "مقلد", "نسخه طبق الاصل", "طبق الاصل",
    "ريبليكا", "ميروار",
]  # fmt: skip

# Copy words that are everyday outside a sale ("1:1" is a ratio, "aaa" a battery):
# they count only near a brand.
WEAK_COPY_WORDS = {"1:1", "aaa", "copy", "copie", "copies", "fake", "imitation"}

# Real words a misspelling match would take for a brand.
NOT_BRANDS = {"channel", "channels", "samsun", "rolled", "nickel", "nikel", "guccione"}

ARABIC_PREFIXES = ("", "و", "ب", "ل", "ف", "ك", "ال", "وال", "بال", "فال", "كال", "لل")

PRODUCT_WINDOW = 6  # tokens either side of a brand that may name the product
COPY_WINDOW = 80  # characters between a weak copy word and a brand
FUZZY_THRESHOLD = 90
FUZZY_MIN_LENGTH = 5

_TOKEN = re.compile(r"\w+")


@dataclass(frozen=True)
class BrandMention:
    brand: str
    alias: str
    start: int
    end: int
    how: str  # "exact" in the normalised text, "skeleton" after undoing leetspeak, "fuzzy"


def alias_variants(alias: str) -> set[str]:
    """The alias in matching form with spellings posts use: joined words, each letter
    doubled, a doubled letter single (long aliases only, short ones would hit words)."""
    base = normalise(alias)
    variants = {base, base.replace(" ", "")}
    if not base.isascii():
        return variants
    if len(base) < 4:  # initials: a doubled letter only ("LLG", "HPP"), never a dropped one
        return variants | {base[: i + 1] + c + base[i + 1 :] for i, c in enumerate(base)
                           if c.isalpha()} - NOT_BRANDS  # fmt: skip
    for i, c in enumerate(base):
        if c.isalpha():
            variants.add(base[: i + 1] + c + base[i + 1 :])
        if len(base) >= 5 and i and base[i - 1] == c:
            variants.add(base[:i] + base[i + 1 :])
    return variants - NOT_BRANDS


def _is_word_char(c: str) -> bool:
    return c.isalnum()


def _arabic(text: str) -> bool:
    return any("\u0600" <= c <= "\u06ff" for c in text)


class _Phrases:
    """An Aho-Corasick automaton over phrases in matching form, reporting whole words
    only (Arabic ones may carry a clitic prefix: "والنايك")."""

    def __init__(self, phrases: dict[str, object]):
        self._automaton = ahocorasick.Automaton()
        for phrase, value in phrases.items():
            self._automaton.add_word(phrase, (phrase, value))
        self._automaton.make_automaton()
        self._empty = not phrases

    def find(self, text: str) -> list[tuple[int, int, str, object]]:
        if self._empty:
            return []
        found = []
        for last, (phrase, value) in self._automaton.iter(text):
            start, end = last - len(phrase) + 1, last + 1
            if end < len(text) and _is_word_char(text[end]) and _is_word_char(phrase[-1]):
                continue
            if start and _is_word_char(text[start - 1]) and _is_word_char(phrase[0]):
                word_start = start
                while word_start and _is_word_char(text[word_start - 1]):
                    word_start -= 1
                if not _arabic(phrase) or text[word_start:start] not in ARABIC_PREFIXES:
                    continue
            found.append((start, end, phrase, value))
        return found


class BrandMatcher:
    """Finds brands and copy wording in posts.

    `brands` maps a brand (as the trademark register holds it) to its aliases;
    `ambiguous` names the aliases that are also ordinary words and count
    only with one of `product_words` within `PRODUCT_WINDOW` tokens.
    """

    def __init__(
        self,
        brands: dict[str, list[str]],
        ambiguous: set[str] | None = None,
        product_words: set[str] | None = None,
        copy_words: list[str] | None = None,
    ):
        aliases: dict[str, tuple[str, str]] = {}
        for brand, names in brands.items():
            for name in [brand, *names]:
                for variant in alias_variants(name):
                    aliases.setdefault(variant, (brand, normalise(name)))
        self._aliases = _Phrases(aliases)
        ambiguous = DEFAULT_AMBIGUOUS if ambiguous is None else ambiguous
        folded = {normalise(a) for a in ambiguous}
        self._ambiguous = {variant for variant, (brand, name) in aliases.items() if name in folded}
        self._products = {normalise(w) for w in (product_words or PRODUCT_WORDS)}
        self._products_as_written = self._products | {
            prefix + w for w in self._products if _arabic(w) for prefix in ARABIC_PREFIXES
        }
        # misspellings are measured against the aliases as listed, not their variants
        self._fuzzy = {
            name: brand
            for brand, name in aliases.values()
            if len(name) >= FUZZY_MIN_LENGTH and name.isalpha() and name.isascii()
        }
        self._fuzzy_choices = list(self._fuzzy)
        words = copy_words if copy_words is not None else COPY_WORDS
        self._copy = _Phrases({normalise(w): normalise(w) for w in words})

    def find_brands(self, text: str) -> list[BrandMention]:
        norm, skeleton, offsets = _forms(text)
        found: list[BrandMention] = []
        for start, end, alias, (brand, _) in self._aliases.find(norm):
            found.append(BrandMention(brand, alias, start, end, "exact"))
        skeletons = [(skeleton, offsets)] if skeleton != norm else []
        if "1" in norm or "|" in norm:
            skeletons.append(_one_as_l(norm))
        for text_form, where in skeletons:
            for start, end, alias, (brand, _) in self._aliases.find(text_form):
                start, end = where[start], where[end - 1] + 1
                found.append(BrandMention(brand, alias, start, end, "skeleton"))
        for token in _TOKEN.finditer(norm):
            hit = self._fuzzy_match(token.group())
            if hit:
                alias, brand = hit
                found.append(BrandMention(brand, alias, token.start(), token.end(), "fuzzy"))
        found = _without_overlaps(found)
        if any(m.alias in self._ambiguous for m in found):
            tokens = [(t.start(), t.group()) for t in _TOKEN.finditer(norm)]
            found = [m for m in found if m.alias not in self._ambiguous or self._near(m, tokens)]
        return found

    @functools.lru_cache(maxsize=65536)  # noqa: B019 -- matchers live as long as the process
    def _fuzzy_match(self, token: str) -> tuple[str, str] | None:
        if (
            len(token) < FUZZY_MIN_LENGTH
            or not token.isascii()
            or token in NOT_BRANDS
            or token in self._products
        ):
            return None
        hit = process.extractOne(
            token, self._fuzzy_choices, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD
        )
        return (hit[0], self._fuzzy[hit[0]]) if hit else None

    def _near(self, mention: BrandMention, tokens: list[tuple[int, str]]) -> bool:
        """Whether a product word is within `PRODUCT_WINDOW` tokens of the mention."""
        at = next((n for n, (start, _) in enumerate(tokens) if start >= mention.start), 0)
        window = tokens[max(0, at - PRODUCT_WINDOW) : at + PRODUCT_WINDOW + 1]
        return any(word in self._products_as_written for _, word in window)

    def copy_wording(self, text: str) -> list[str]:
        """The copy words in a post, in matching form and in order, each once."""
        norm, skeleton, _ = _forms(text)
        found = self._copy.find(norm) + self._copy.find(skeleton)
        # "high copy" is one copy word, not "high copy" and "copy"
        longest = [
            (start, phrase)
            for start, end, phrase, _ in found
            if not any(s <= start and end <= e and e - s > end - start for s, e, *_ in found)
        ]
        return list(dict.fromkeys(phrase for _, phrase in sorted(longest)))

    def is_copy_ad(self, text: str) -> bool:
        """A brand and copy wording; a weak copy word ("1:1", "aaa") only near it."""
        mentions = self.find_brands(text)
        if not mentions:
            return False
        norm, skeleton, _ = _forms(text)
        for start, end, phrase, _ in self._copy.find(norm):
            if phrase not in WEAK_COPY_WORDS:
                return True
            if any(m.start - COPY_WINDOW <= end and start <= m.end + COPY_WINDOW for m in mentions):
                return True
        return any(phrase not in WEAK_COPY_WORDS for *_, phrase, _ in self._copy.find(skeleton))


@functools.lru_cache(maxsize=1024)
def _forms(text: str) -> tuple[str, str, list[int]]:
    """The text normalised, and its skeleton with offsets: the brand and copy readers of
    one post share them."""
    norm = normalise(text)
    return norm, *skeleton_with_offsets(norm)


@functools.lru_cache(maxsize=1024)
def _one_as_l(norm: str) -> tuple[str, list[int]]:
    return skeleton_with_offsets(norm, ONE_AS_L)


def _without_overlaps(mentions: list[BrandMention]) -> list[BrandMention]:
    """One mention per stretch of text: the longest, exact before skeleton before fuzzy."""
    rank = {"exact": 0, "skeleton": 1, "fuzzy": 2}
    kept: list[BrandMention] = []
    for m in sorted(mentions, key=lambda m: (m.start - m.end, rank[m.how], m.start)):
        if all(m.end <= k.start or m.start >= k.end for k in kept):
            kept.append(m)
    return sorted(kept, key=lambda m: m.start)


@functools.cache
def default_matcher() -> BrandMatcher:
    return BrandMatcher(DEFAULT_ALIASES)


def find_brands(text: str) -> list[BrandMention]:
    return default_matcher().find_brands(text)


def copy_wording(text: str) -> list[str]:
    return default_matcher().copy_wording(text)


def is_copy_ad(text: str) -> bool:
    return default_matcher().is_copy_ad(text)
