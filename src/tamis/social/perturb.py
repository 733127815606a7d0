"""Seeded ways sellers disguise text, to write hard synthetic posts for tests and the
benchmark. Kept apart from the readers (it imports none of them) so a benchmark built
with it does not share their blind spots."""

import random
from decimal import Decimal

import phonenumbers

ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
ARABIC_INDIC = "٠١٢٣٤٥٦٧٨٩"
EASTERN_ARABIC_INDIC = "۰۱۲۳۴۵۶۷۸۹"

# Cyrillic letters drawn like Latin ones.
HOMOGLYPHS = {
    "a": "а", "c": "с", "e": "е", "i": "і", "j": "ј", "o": "о", "p": "р", "s": "ѕ",
    "x": "х", "y": "у", "A": "А", "B": "В", "C": "С", "E": "Е", "H": "Н", "I": "І",
    "K": "К", "M": "М", "O": "О", "P": "Р", "S": "Ѕ", "T": "Т", "X": "Х",
}  # fmt: skip
LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7", "l": "1", "g": "9"}

# First code point of each style's A, a and 0 (None: the style has no digits).
STYLES = {
    "bold": (0x1D400, 0x1D41A, 0x1D7CE),
    "italic": (0x1D434, 0x1D44E, None),
    "fullwidth": (0xFF21, 0xFF41, 0xFF10),
    "circled": (0x24B6, 0x24D0, None),
}
# Mathematical italic h was encoded before the block: its slot there is empty.
ITALIC_H = "\u210e"

DIRHAM_SUFFIXES = (" DH", "DH", " dh", "dh", " dhs", " MAD", " درهم", " dirham")
RYAL_SUFFIXES = (" ryal", " rial", " ريال")
PRICE_PREFIXES = ("prix: ", "prix ", "b ", "ب ", "taman ")
RYALS_PER_DIRHAM = 20


def _grouped(digits: str, sep: str) -> str:
    return sep.join(digits[i : i + 2] for i in range(0, len(digits), 2))


def phone_spellings(e164: str, rng: random.Random) -> str:
    """One of the ways posts write the number, chosen by rng."""
    number = phonenumbers.parse(e164)
    national = phonenumbers.national_significant_number(number)
    code = str(number.country_code)
    if code != "212":
        international = phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        return rng.choice([international, e164, "00" + e164[1:], "wa.me/" + e164[1:]])
    sep = rng.choice([" ", ".", "-", ""])
    forms = [
        _grouped("0" + national, sep),
        "0" + national,
        f"+212 {national[0]}{sep}{_grouped(national[1:], sep)}",
        f"+212(0){national}",
        f"+212 {national}",
        f"00212{national}",
        f"212{national}",
        f"wa.me/212{national}",
        f"https://api.whatsapp.com/send?phone=212{national}",
        f"whatsapp: {_grouped('0' + national, sep)}",
    ]
    return rng.choice(forms)


def _thousands(whole: int, rng: random.Random) -> str:
    if whole < 1000:
        return str(whole)
    sep = rng.choice([".", " ", ",", ""])
    return f"{whole:,}".replace(",", sep)


def price_spellings(amount: Decimal | int, rng: random.Random) -> str:
    """One of the ways posts write a price of this many dirhams, chosen by rng."""
    amount = Decimal(amount)
    whole, cents = divmod(amount, 1)
    if cents:
        return f"{_thousands(int(whole), rng)},{int(cents * 100):02d}{rng.choice(DIRHAM_SUFFIXES)}"
    kind = rng.choice(["suffix", "prefix", "ryal"])
    if kind == "ryal":
        return _thousands(int(whole) * RYALS_PER_DIRHAM, rng) + rng.choice(RYAL_SUFFIXES)
    written = _thousands(int(whole), rng)
    if kind == "prefix":
        return rng.choice(PRICE_PREFIXES) + written
    return written + rng.choice(DIRHAM_SUFFIXES)


def _style_char(ch: str, style: str) -> str:
    upper, lower, digit = STYLES[style]
    if style == "italic" and ch == "h":
        return ITALIC_H
    if "A" <= ch <= "Z":
        return chr(upper + ord(ch) - ord("A"))
    if "a" <= ch <= "z":
        return chr(lower + ord(ch) - ord("a"))
    if "0" <= ch <= "9" and digit is not None:
        return chr(digit + ord(ch) - ord("0"))
    return ch


def styled(text: str, rng: random.Random) -> str:
    """The text in one styled alphabet: mathematical bold or italic, fullwidth, circled."""
    style = rng.choice(sorted(STYLES))
    return "".join(_style_char(ch, style) for ch in text)


def zero_width(text: str, rng: random.Random, rate: float = 0.3) -> str:
    """Zero-width characters slipped between characters."""
    out = []
    for i, ch in enumerate(text):
        if i and rng.random() < rate:
            out.append(rng.choice(ZERO_WIDTH))
        out.append(ch)
    return "".join(out)


def homoglyphs(text: str, rng: random.Random, rate: float = 0.5) -> str:
    """Some Latin letters swapped for the Cyrillic letters drawn like them."""
    return "".join(
        HOMOGLYPHS[ch] if ch in HOMOGLYPHS and rng.random() < rate else ch for ch in text
    )


def leet(text: str, rng: random.Random, rate: float = 0.5) -> str:
    """Some letters written as digits or symbols: "N1ke", "Gucc1", "Chan3l"."""
    out = []
    for ch in text:
        options = LEET.get(ch.lower())
        out.append(rng.choice(options) if options and rng.random() < rate else ch)
    return "".join(out)


def spaced(text: str, rng: random.Random) -> str:
    """Each word's letters set apart: "G u c c i", "L.V", "N-I-K-E"."""
    sep = rng.choice([" ", ".", "-", " . ", "_"])
    return " ".join(sep.join(word) for word in text.split(" "))


def arabic_digits(text: str, rng: random.Random) -> str:
    """ASCII digits written in Arabic-Indic or Eastern Arabic-Indic digits."""
    table = str.maketrans("0123456789", rng.choice([ARABIC_INDIC, EASTERN_ARABIC_INDIC]))
    return text.translate(table)
