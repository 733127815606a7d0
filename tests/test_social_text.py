"""The matching form of social-media posts, and brands and copy wording found in them."""

from tamis.social.normalise import latin_skeleton, normalise


def test_styled_letters_become_plain():
    assert normalise("𝐍𝐢𝐤𝐞 ⓝⓘⓚⓔ ＮＩＫＥ 🅽🅸🅺🅴 ɴɪᴋᴇ") == "nike nike nike nike nike"


def test_zero_width_and_emoji_go():
    assert normalise("N\u200bi\u200dk\ufeffe 🔥🔥 👍🏽\tGucci\n") == "nike gucci"


def test_cyrillic_and_greek_lookalikes_become_latin():
    assert normalise("Nіkе Аdіdаs ΡUΜΑ") == "nike adidas puma"


def test_arabic_stays_arabic_without_diacritics_or_tatweel():
    assert normalise("أَدِيدَاس الـــنايك") == "اديداس النايك"


def test_arabic_indic_digits_become_ascii():
    assert normalise("٢٥٠ درهم و ۳۰۰") == "250 درهم و 300"


def test_mojibake_is_repaired_and_accents_fold():
    assert normalise("rÃ©plique Hermès") == "replique hermes"


def test_arabizi_words_are_left_as_written():
    assert normalise("3la 9ad 7ta L'Original") == "3la 9ad 7ta l'original"


def test_skeleton_undoes_leetspeak_and_spaced_letters():
    assert latin_skeleton("N1ke n.i.k.e G u c c i L.V n-i-k-e @nike adida$") == (
        "nike nike gucci lv nike nike adidas"
    )


def test_skeleton_leaves_prices_and_ratios():
    assert latin_skeleton("250 dh 1:1 300") == "250 dh 1:1 300"
