"""Phones, WhatsApp links and Moroccan places named in social-media posts.

Sellers hide their numbers from platform filters: Arabic-Indic digits, styled letters,
zero-width characters or emoji between the digits, wa.me links. The text is first
cleaned character by character, keeping each cleaned character's place in the original,
so what is found can be shown as it was written.
"""

import functools
import re
import unicodedata
from typing import NamedTuple

import phonenumbers

# Separators and Arabic number punctuation the phone and price readers understand.
PUNCTUATION = {
    "\u066b": ".",  # Arabic decimal separator
    "\u066c": ",",  # Arabic thousands separator
    "\u060c": ",",  # Arabic comma
}

# Moroccan cities and districts, canonical name first, then how posts write it.
PLACES: dict[str, tuple[str, ...]] = {
    "Casablanca": (
        "casablanca",
        "casa",
        "dar bida",
        "dar lbida",
        "darbida",
        "dar el beida",
        "الدار البيضاء",
        "الدارالبيضاء",
        "كازا",
        "كازابلانكا",
    ),
    "Derb Ghallef": ("derb ghallef", "derb ghalef", "derb ghelef", "derb ghlef", "درب غلف"),
    "Derb Omar": ("derb omar", "derb 3mar", "درب عمر"),
    "Derb Sultan": ("derb sultan", "derb soltane", "درب السلطان"),
    "Hay Mohammadi": ("hay mohammadi", "hay mohammedi", "الحي المحمدي"),
    "Mohammédia": ("mohammedia", "mohamedia", "المحمدية"),
    "Rabat": ("rabat", "الرباط"),
    # not "sale": French for dirty
    "Salé": ("sla", "slawi", "سلا"),
    "Temara": ("temara", "tmara", "تمارة"),
    "Kénitra": ("kenitra", "l9nitra", "القنيطرة"),
    "Tanger": ("tanger", "tangier", "tanja", "طنجة"),
    "Tétouan": ("tetouan", "tetuan", "تطوان"),
    "Fnideq": ("fnideq", "fnidq", "الفنيدق"),
    "Marrakech": ("marrakech", "marrakesh", "marrakch", "mraksh", "مراكش"),
    "Fès": ("fes", "fez", "فاس"),
    "Meknès": ("meknes", "mknes", "مكناس"),
    "Agadir": ("agadir", "أكادير", "اكادير"),
    # not "jadida" nor "الجديدة" alone: "new"; not "safi": Darija for "enough"
    "El Jadida": ("el jadida", "eljadida", "mazagan"),
    "Safi": ("asfi", "آسفي", "اسفي"),
    "Oujda": ("oujda", "wjda", "وجدة"),
    "Nador": ("nador", "الناظور"),
    "Béni Mellal": ("beni mellal", "bni mellal", "بني ملال"),
    # not "العيون": "the eyes"
    "Laâyoune": ("laayoune", "layoune"),
}


class Phone(NamedTuple):
    e164: str
    raw: str
    start: int
    end: int


@functools.lru_cache(maxsize=8192)
def _folded(ch: str) -> str:
    cat = unicodedata.category(ch)
    if cat == "Nd":
        return str(unicodedata.decimal(ch))
    if cat in ("Cf", "So", "Sk", "Cs") or "\ufe00" <= ch <= "\ufe0f":
        return ""
    if cat == "Zs":
        return " "
    if cat == "Pd":
        return "-"
    return PUNCTUATION.get(ch) or unicodedata.normalize("NFKC", ch)


@functools.lru_cache(maxsize=64)  # the readers of one post (phones, prices, places) share it
def clean(text: str) -> tuple[str, list[int]]:
    """The text with ASCII digits, compatibility forms folded (styled and fullwidth
    letters), format characters and emoji dropped; and, for each character kept,
    its index in the original."""
    if all(_folded(ch) == ch for ch in set(text)):
        return text, list(range(len(text)))
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        folded = _folded(ch)
        out.append(folded)
        where.extend([i] * len(folded))
    return "".join(out), where


def _span(text: str, where: list[int], start: int, end: int) -> tuple[str, int, int]:
    first, last = where[start], where[end - 1] + 1
    return text[first:last], first, last


# Digits in a WhatsApp link are always international, with or without the plus.
_WA_LINK = re.compile(
    r"(?:https?://)?(?:wa\.me/|(?:api\.)?whatsapp\.com/send/?\?phone=)\+?(\d{8,15})", re.I
)
# 212 then a Moroccan national number, written without its plus: the country code.
_BARE_212 = re.compile(r"(?<![\d+])(?=212[5-8]\d{8}(?!\d))")
# Eight digits, a few separators apart: fewer cannot be a phone anywhere.
_DIGIT_RUN = re.compile(r"\d(?:\D{0,3}\d){7}")
# A Moroccan national number, its ten digits optionally in groups.
_MOROCCAN = re.compile(r"(?<![\d+])0[5-8](?:[ .-]?\d){8}(?!\d)")


# Digits in groups, perhaps international (+ or 00), not inside a longer number or word.
_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|00)?(?:\(0\))?\d(?:[ .\-/()]{0,2}\d){7,16}(?!\d)")


_GROUP = re.compile(r"(?<=[^\d])[+\d]")


@functools.lru_cache(maxsize=65536)
def _e164(written: str, region: str) -> str | None:
    """A written number in E.164 when it is a valid phone. A national number must keep
    its trunk 0: nine bare digits are more often an order number than a phone."""
    digits = re.sub(r"\D", "", written)
    if written.startswith("+"):
        digits = "+" + digits
    elif written.startswith("00"):
        digits = "+" + digits[2:]
    elif not digits.startswith("0"):
        return None
    try:
        number = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return None
    if not (phonenumbers.is_valid_number(number) or _moroccan(number)):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _moroccan(number: phonenumbers.PhoneNumber) -> bool:
    """A Moroccan number of the right shape (fixed 05, mobile 06 and 07, 08): ranges are
    allocated faster than the library's tables follow."""
    national = str(number.national_number)
    return number.country_code == 212 and len(national) == 9 and national[0] in "5678"


def phones(text: str, region: str = "MA") -> list[Phone]:
    """Valid phone numbers written in the text, in order, each once, as E.164."""
    cleaned, where = clean(text)
    if not _DIGIT_RUN.search(cleaned):
        return []
    # Mark international numbers written without a plus; the plus borrows the place
    # of the digit it precedes.
    starts = {m.start(1) for m in _WA_LINK.finditer(cleaned)}
    starts |= {m.start() for m in _BARE_212.finditer(cleaned)}
    for j in sorted(starts, reverse=True):
        cleaned, where = cleaned[:j] + "+" + cleaned[j:], where[:j] + [where[j]] + where[j:]

    found: list[Phone] = []
    seen: set[str] = set()
    spans: list[tuple[int, int]] = []
    for m in _CANDIDATE.finditer(cleaned):
        # digits before the number ("b 44 📞 0021252…") belong to something else: the
        # candidate is read again from each of its groups
        for start in [m.start()] + [m.start() + g.start() for g in _GROUP.finditer(m.group())]:
            e164 = _e164(cleaned[start : m.end()].replace("(0)", ""), region)
            if e164 is not None:
                break
        if e164 is None or e164 in seen:
            continue
        seen.add(e164)
        found.append(Phone(e164, *_span(text, where, start, m.end())))
        spans.append((start, m.end()))
    # Numbers written back to back ("06 61 23 45 67 06 62 23 45 67") read as one too
    # long number; Moroccan ones are looked for again one by one.
    for m in _MOROCCAN.finditer(cleaned):
        if any(s < m.end() and m.start() < e for s, e in spans):
            continue
        number = phonenumbers.parse(m.group(), "MA")
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        if phonenumbers.is_valid_number(number) and e164 not in seen:
            seen.add(e164)
            found.append(Phone(e164, *_span(text, where, m.start(), m.end())))
    return sorted(found, key=lambda p: p.start)


def whatsapp_links(text: str) -> list[Phone]:
    """The numbers behind wa.me and api.whatsapp.com links, the raw being the link."""
    cleaned, where = clean(text)
    found = []
    for m in _WA_LINK.finditer(cleaned):
        try:
            number = phonenumbers.parse("+" + m.group(1))
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            found.append(Phone(e164, *_span(text, where, m.start(), m.end())))
    return found


def _fold(text: str) -> str:
    """Lower case without Latin accents, for matching place names."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    if decomposed.isascii():
        return decomposed
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_PLACE_NAMES = {_fold(alias): name for name, aliases in PLACES.items() for alias in aliases}
# Longest aliases first so "derb omar" wins over a shorter name inside it.
_PLACE_RE = re.compile(
    # Arabic writes "in", "to", "and" joined to the name: بطنجة, لكازا
    r"(?<!\w)[وبفل]?("
    + "|".join(
        re.escape(a).replace(r"\ ", r"\s+") for a in sorted(_PLACE_NAMES, key=len, reverse=True)
    )
    + r")(?!\w)"
)


def places(text: str) -> list[str]:
    """Canonical names of the Moroccan places named in the text, in order, each once."""
    cleaned, _ = clean(text)
    found: list[str] = []
    for m in _PLACE_RE.finditer(_fold(cleaned)):
        name = _PLACE_NAMES[re.sub(r"\s+", " ", m.group(1))]
        if name not in found:
            found.append(name)
    return found
