import random
from decimal import Decimal

import phonenumbers
import pytest

from tamis.social import perturb
from tamis.social.contacts import phones, places, whatsapp_links
from tamis.social.prices import prices

MOBILE = "+212661234567"


@pytest.mark.parametrize(
    "written",
    [
        "06 61 23 45 67",
        "0661234567",
        "06.61.23.45.67",
        "06-61-23-45-67",
        "+212 6-61-23-45-67",
        "+212(0)661234567",
        "00212661234567",
        "212661234567",
        "٠٦٦١٢٣٤٥٦٧",
        "۰۶۶۱۲۳۴۵۶۷",
        "06\u200b61\u200c23\u200d45\u206067",
        "06😀61🔥23👉45📞67",
        "𝟎𝟔𝟔𝟏𝟐𝟑𝟒𝟓𝟔𝟕",
        "wa.me/212661234567",
        "https://api.whatsapp.com/send?phone=212661234567",
        "whatsapp: 06 61 23 45 67",
    ],
)
def test_each_written_form_reads_as_the_moroccan_mobile(written):
    found = phones(f"Dispo f Casa, 3ayet {written} merci")
    assert [p.e164 for p in found] == [MOBILE]
    assert f"Dispo f Casa, 3ayet {written} merci"[found[0].start : found[0].end] == found[0].raw


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("0522 12 34 56", "+212522123456"),
        ("+34 612 345 678", "+34612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+86 138 0013 8000", "+8613800138000"),
    ],
)
def test_landlines_and_foreign_numbers(written, e164):
    assert [p.e164 for p in phones(f"tel {written}")] == [e164]


def test_prices_dates_sizes_and_counts_are_not_phones():
    post = "Prix 350 DH, 1 200 DH le lot, le 12/03/2025, taille 42 43 44 45 46, 612345678 commandes"
    assert phones(post) == []


def test_whatsapp_links_give_the_number_and_the_link():
    post = "Commande: wa.me/212661234567 ou https://api.whatsapp.com/send?phone=33612345678"
    links = whatsapp_links(post)
    assert [p.e164 for p in links] == [MOBILE, "+33612345678"]
    assert links[0].raw == "wa.me/212661234567"


def _random_moroccan(rng: random.Random) -> str:
    while True:
        national = rng.choice(["6", "7", "52", "53"])
        national += "".join(rng.choice("0123456789") for _ in range(9 - len(national)))
        number = phonenumbers.parse("+212" + national)
        if phonenumbers.is_valid_number(number):
            return "+212" + national


def test_numbers_written_every_way_are_recovered_exactly():
    rng = random.Random(20261207)
    recovered = 0
    for _ in range(2000):
        e164 = _random_moroccan(rng)
        written = perturb.phone_spellings(e164, rng)
        if rng.random() < 0.5:
            written = perturb.zero_width(written, rng)
        if rng.random() < 0.5:
            written = perturb.arabic_digits(written, rng)
        found = phones(f"Original 100% 🔥 prix 350 DH, taille 40 41 42 — {written} livraison Casa")
        recovered += [p.e164 for p in found] == [e164]
    assert recovered / 2000 >= 0.99


@pytest.mark.parametrize(
    ("written", "amounts"),
    [
        ("250 DH", ["250"]),
        ("250dh", ["250"]),
        ("250 dhs", ["250"]),
        ("250 MAD", ["250"]),
        ("250 درهم", ["250"]),
        ("٢٥٠ درهم", ["250"]),
        ("۲۵۰ dh", ["250"]),
        ("prix: 250", ["250"]),
        ("b 250", ["250"]),
        ("5000 ryal", ["250"]),
        ("5000 rial", ["250"]),
        ("5000 ريال", ["250"]),
        ("1.200 DH", ["1200"]),
        ("1 200 DH", ["1200"]),
        ("1,200 DH", ["1200"]),
        ("250,50 DH", ["250.50"]),
        ("200-250 DH", ["200", "250"]),
    ],
)
def test_prices(written, amounts):
    found = prices(f"Sac original {written} livraison gratuite")
    assert [p.amount for p in found] == [Decimal(a) for a in amounts]
    assert all(isinstance(p.amount, Decimal) and p.currency == "MAD" for p in found)


def test_sizes_phones_percentages_and_years_are_not_prices():
    assert (
        prices("taille 42 43 44, -30%, prix 30%, collection 2025, 0661234567, b 0661234567") == []
    )


def test_price_spellings_read_back():
    rng = random.Random(7)
    for _ in range(300):
        amount = Decimal(rng.randrange(50, 5000))
        found = prices(f"Nike Air {perturb.price_spellings(amount, rng)} dispo")
        assert [p.amount for p in found] == [amount]


def test_places_in_three_scripts():
    assert places("Livraison Casa et Derb Ghallef") == ["Casablanca", "Derb Ghallef"]
    assert places("التوصيل لطنجة و الدار البيضاء") == ["Tanger", "Casablanca"]
    assert places("kayn f dar bida, derb omar, w mohammédia o Fès") == [
        "Casablanca",
        "Derb Omar",
        "Mohammédia",
        "Fès",
    ]
    assert places("safi, sale, produit jadida") == []


@pytest.mark.parametrize(
    "perturbation",
    [
        perturb.styled,
        perturb.zero_width,
        perturb.homoglyphs,
        perturb.leet,
        perturb.spaced,
        perturb.arabic_digits,
    ],
)
def test_perturbations_are_deterministic_for_a_seed(perturbation):
    text = "Nike Gucci LV 0661234567"
    assert perturbation(text, random.Random(3)) == perturbation(text, random.Random(3))
    assert {perturbation(text, random.Random(seed)) for seed in range(20)} != {text}


def test_spellings_are_deterministic_for_a_seed():
    def spell(seed):
        rng = random.Random(seed)
        return perturb.phone_spellings(MOBILE, rng), perturb.price_spellings(250, rng)

    assert spell(5) == spell(5)
    assert len({spell(seed) for seed in range(30)}) > 5


def test_styled_text_is_styled():
    rng = random.Random(1)
    assert all(not ch.isascii() for ch in perturb.styled("Gucci", rng))


@pytest.mark.parametrize(
    "post",
    ["06 61 23 45 67 06 62 23 45 67", "0661234567-0662234567", "06 61 23 45 67 / 06 62 23 45 67"],
)
def test_numbers_written_back_to_back_are_both_read(post):
    assert [p.e164 for p in phones(post)] == [MOBILE, "+212662234567"]
