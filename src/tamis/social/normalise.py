"""A matching form of a social-media post: what a brand or copy word looks like once the
styling, invisible characters, lookalike letters and emoji are taken away.

`normalise` keeps the words as written (Arabic stays Arabic, Arabizi "3la" stays "3la");
`latin_skeleton` goes further (leetspeak, spaced-out letters) and is for matching only.
"""

import functools
import re
import unicodedata

import anyascii
import ftfy

# Cyrillic and Greek letters that look like Latin ones. anyascii transliterates by sound
# (Cyrillic "р" -> "r", "с" -> "s"), which is wrong for a lookalike, so these come first.
HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ү": "y", "һ": "h", "ӏ": "l",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "μ": "u", "ν": "v",
    "ο": "o", "ρ": "p", "σ": "o", "ς": "c", "τ": "t", "υ": "u", "χ": "x", "ω": "w",
    "γ": "y", "ϲ": "c", "ϳ": "j",
}  # fmt: skip

# Capitals that look unlike their small letter (Greek "Μ" is "M", its "μ" is "u") are
# mapped before casefolding.
CAPITAL_HOMOGLYPHS = str.maketrans({
    "А": "a", "В": "b", "Е": "e", "К": "k", "М": "m", "Н": "h", "О": "o", "Р": "p",
    "С": "c", "Т": "t", "У": "y", "Х": "x", "І": "i", "Ј": "j", "Ѕ": "s",
    "Α": "a", "Β": "b", "Ε": "e", "Ζ": "z", "Η": "h", "Ι": "i", "Κ": "k", "Μ": "m",
    "Ν": "n", "Ο": "o", "Ρ": "p", "Τ": "t", "Υ": "y", "Χ": "x",
})  # fmt: skip

# Arabic letters written several ways for the same word (hamza on alef, final ya and ta
# marbuta, Persian keheh and yeh) are folded so one alias covers them.
ARABIC_FOLDS = {
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ی": "ي", "ة": "ه", "ک": "ك",
    "ڭ": "ك", "گ": "ك",
}  # fmt: skip

TATWEEL = "\u0640"

# Text that went through UTF-8 read as Latin-1/cp1252 shows a lead byte (Ã, Ø, Ù...)
# followed by a continuation byte; ftfy is slow, so it only sees texts that look so.
_MOJIBAKE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
    "\u02c6\u02dc\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030"
    "\u2039\u203a\u20ac\u2122]|&#?\\w+;"
)


def _negative_letters() -> dict[int, str]:
    """Negative circled/squared letters and regional indicators, which NFKC leaves."""
    table = {}
    for first in (0x1F150, 0x1F170, 0x1F1E6):
        for i in range(26):
            table[first + i] = chr(ord("a") + i)
    return table


class _CharMap(dict):
    """str.translate table filled in lazily, one decision per code point."""

    def __missing__(self, code: int) -> str:
        value = _map_char(chr(code))
        self[code] = value
        return value


def _map_char(ch: str) -> str:
    if ch.isascii():
        return " " if ch.isspace() or not ch.isprintable() else ch
    if ch in HOMOGLYPHS:
        return HOMOGLYPHS[ch]
    if ch in ARABIC_FOLDS:
        return ARABIC_FOLDS[ch]
    if ch == TATWEEL:
        return ""
    category = unicodedata.category(ch)
    if category == "Nd":
        return str(unicodedata.digit(ch))
    if category in ("Cf", "Mn", "Me"):  # zero-width, tashkeel, variation selectors
        return ""
    if category[0] in "SZC":  # emoji, symbols, odd spaces, controls
        return " "
    if category[0] == "L":
        name = unicodedata.name(ch, "")
        # Latin accents fold (posts drop them at random); other lookalike scripts go
        # to Latin; every other script (Arabic first) stays as written.
        if name.startswith(("LATIN", "CYRILLIC", "GREEK", "MODIFIER LETTER")):
            return anyascii.anyascii(ch).lower()
    return ch


_TABLE = _CharMap(_negative_letters())


def normalise(text: str) -> str:
    """The post in matching form: casefolded, plain letters, Arabic kept, one space."""
    if _MOJIBAKE.search(text):
        text = ftfy.fix_text(text)
    text = unicodedata.normalize("NFKC", text).translate(CAPITAL_HOMOGLYPHS).casefold()
    return " ".join(text.translate(_TABLE).split())


LEET = {"1": "i", "0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "9": "g", "@": "a", "$": "s",
        "!": "i"}  # fmt: skip
# "1" and "|" stand for "l" as often as for "i" ("phi1ips", "chane1"): a second reading
ONE_AS_L = LEET | {"1": "l", "|": "l"}
_INNER_SEPARATORS = ".-_*·'’"
# Single letters joined by separators ("l.v", "N . i . k . e") or by spaces ("g u c c i",
# "L V"): one word spelt out.
_LETTER_RUN = re.compile(
    r"(?<![^\s#])(?:\w ?[.\-_*·] ?){1,}\w(?![^\s.,!?])|(?:(?<!\S)\w ){1,}\w(?!\S)"
)


def latin_skeleton(text: str) -> str:
    """The normalised text with obfuscation undone, for brand matching only.

    Spaced or dotted letters are joined ("g u c c i", "l.v", "n-i-k-e"), separators
    inside a word are dropped, and leetspeak digits become letters ("n1ke") -- but only
    in tokens that mix letters and digits: Arabizi writes ع, ح, ق as 3, 7, 9 ("3la",
    "7ta") and prices are digits alone, so "3la" turns into "ela" here and nowhere else.
    A brand found only in the skeleton is reported as such.
    """
    return skeleton_with_offsets(normalise(text))[0]


def skeleton_with_offsets(norm: str, leet: dict[str, str] = LEET) -> tuple[str, list[int]]:
    """The skeleton of an already normalised text, and for each of its characters the
    index of the character in `norm` it came from; ``leet`` reads digits as letters."""
    words: list[tuple[str, list[int] | int]] = []  # a word and where its letters are
    last = 0
    for run in _LETTER_RUN.finditer(norm):
        words.extend((w.group(), w.start()) for w in _WORD.finditer(norm, last, run.start()))
        kept = [i for i in range(run.start(), run.end()) if norm[i] not in " .-_*·"]
        words.append(("".join(norm[i] for i in kept), kept))
        last = run.end()
    words.extend((w.group(), w.start()) for w in _WORD.finditer(norm, last))

    pieces: list[str] = []
    offsets: list[int] = []
    for word, where in words:
        skeleton, kept = _skeleton_word(word, leet is ONE_AS_L)
        if not skeleton:
            continue
        if pieces:
            offsets.append(offsets[-1] + 1)  # the space before this word
        pieces.append(skeleton)
        if isinstance(where, int):
            offsets.extend(where + k for k in kept)
        else:
            offsets.extend(where[k] for k in kept)
    return " ".join(pieces), offsets


_WORD = re.compile(r"\S+")


@functools.lru_cache(maxsize=65536)
def _skeleton_word(word: str, one_as_l: bool = False) -> tuple[str, tuple[int, ...]]:
    """A word's skeleton and the positions in the word of the characters it keeps."""
    if not any(c.isalpha() for c in word):
        return word, tuple(range(len(word)))  # prices, ratios, "1:1"
    # separators inside a word go, and so do the marks of @handles and #tags
    kept = [k for k, c in enumerate(word) if c not in _INNER_SEPARATORS]
    while (
        kept
        and word[kept[0]] == "#"
        or (kept and word[kept[0]] in "@$" and not any(word[k] in LEET for k in kept[1:]))
    ):  # a handle's or a tag's mark, unless the word is leetspeak ("@DIDA$", "$0ny")
        kept = kept[1:]
    while kept and word[kept[-1]] in "!?,;:":  # a sentence's end, not a letter
        kept = kept[:-1]
    letters = "".join(word[k] for k in kept)
    leet = ONE_AS_L if one_as_l else LEET
    if any(c.isalpha() for c in letters) and any(c in leet for c in letters):
        letters = "".join(leet.get(c, c) for c in letters)
    return letters, tuple(kept)
