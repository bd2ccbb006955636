"""The transliterate ("send without Polish characters") and smart options."""

from __future__ import annotations

import unicodedata

import pytest

from kanal.core.gsm7 import GSM7_CHARS, SMART, TRANSLITERATION
from kanal.core.sms import analyze

POLISH = {
    "ą": "a", "ć": "c", "ę": "e", "ł": "l", "ń": "n", "ó": "o", "ś": "s", "ź": "z", "ż": "z",
    "Ą": "A", "Ć": "C", "Ę": "E", "Ł": "L", "Ń": "N", "Ó": "O", "Ś": "S", "Ź": "Z", "Ż": "Z",
}  # fmt: skip
CZECH = {
    "á": "a", "č": "c", "ď": "d", "ě": "e", "í": "i", "ň": "n", "ó": "o", "ř": "r", "š": "s",
    "ť": "t", "ú": "u", "ů": "u", "ý": "y", "ž": "z",
    "Á": "A", "Č": "C", "Ď": "D", "Ě": "E", "Í": "I", "Ň": "N", "Ó": "O", "Ř": "R", "Š": "S",
    "Ť": "T", "Ú": "U", "Ů": "U", "Ý": "Y", "Ž": "Z",
}  # fmt: skip
GSM_LETTERS = "éÉäÄöÖüÜàèùìòÇñÑÅåØøÆæß"


@pytest.mark.parametrize(("letter", "base"), sorted({**POLISH, **CZECH}.items()))
def test_transliterates_every_polish_and_czech_letter(letter: str, base: str) -> None:
    assert analyze(letter).encoding == "UCS-2"
    a = analyze(f"x{letter}y", transliterate=True)
    assert (a.text, a.encoding, a.changed) == (f"x{base}y", "GSM-7", True)


@pytest.mark.parametrize(("letter", "base"), sorted({**POLISH, **CZECH}.items()))
def test_transliterates_decomposed_letters_too(letter: str, base: str) -> None:
    decomposed = unicodedata.normalize("NFD", letter)
    assert analyze(decomposed, transliterate=True).text == base


@pytest.mark.parametrize("letter", GSM_LETTERS)
def test_gsm7_letters_stay(letter: str) -> None:
    a = analyze(letter, transliterate=True, smart=True)
    assert (a.text, a.encoding, a.changed) == (letter, "GSM-7", False)


def test_czech_e_acute_stays_because_it_is_gsm7() -> None:
    a = analyze("Příliš žluťoučký kůň úpěl ďábelské ódy", transliterate=True)
    assert (a.text, a.encoding) == ("Prilis zlutoucky kun upel dabelské ody", "GSM-7")


def test_pangrams() -> None:
    a = analyze("Zażółć gęślą jaźń. ZAŻÓŁĆ GĘŚLĄ JAŹŃ.", transliterate=True)
    assert a.text == "Zazolc gesla jazn. ZAZOLC GESLA JAZN."
    assert a.encoding == "GSM-7"


def test_transliteration_leaves_other_characters() -> None:
    a = analyze("Zażółć „x” 😀", transliterate=True)
    assert a.text == "Zazolc „x” 😀"
    assert a.non_gsm == ("„", "”", "😀")


def test_mapping_that_creates_a_new_composition_is_normalised() -> None:
    # ą + combining acute has no precomposed form; without the ogonek it is á.
    assert analyze("ą\u0301", transliterate=True).text == "a"


@pytest.mark.parametrize(
    ("char", "replacement"),
    [
        ("\u2018", "'"), ("\u2019", "'"), ("\u201a", "'"), ("\u201b", "'"),
        ("\u2032", "'"), ("\u2039", "'"), ("\u203a", "'"), ("\u00b4", "'"), ("`", "'"),
        ("\u02bc", "'"),
        ("\u201c", '"'), ("\u201d", '"'), ("\u201e", '"'), ("\u201f", '"'),
        ("\u2033", '"'), ("\u00ab", '"'), ("\u00bb", '"'),
        ("\u2010", "-"), ("\u2011", "-"), ("\u2012", "-"), ("\u2013", "-"),
        ("\u2014", "-"), ("\u2015", "-"), ("\u2212", "-"),
        ("\u2022", "-"), ("\u2023", "-"), ("\u2043", "-"), ("\u2219", "-"), ("\u25e6", "-"),
        ("\u2026", "..."),
        ("\t", " "), ("\u00a0", " "), ("\u1680", " "), ("\u2000", " "), ("\u2002", " "),
        ("\u2003", " "), ("\u2007", " "), ("\u2009", " "), ("\u200a", " "), ("\u202f", " "),
        ("\u205f", " "), ("\u3000", " "),
        ("\u2028", "\n"), ("\u2029", "\n"),
        ("\u200b", ""), ("\u2060", ""), ("\ufeff", ""), ("\u00ad", ""), ("\u200e", ""),
        ("\u200f", ""), ("\u202a", ""), ("\u2066", ""),
        ("\uff21", "A"), ("\uff5a", "z"), ("\uff10", "0"), ("\uff01", "!"), ("\uff08", "("),
        ("\uff3b", "["), ("\uff5e", "~"), ("\uff40", "'"), ("\uff02", '"'),
    ],
)  # fmt: skip
def test_smart_replaces_each_lookalike(char: str, replacement: str) -> None:
    a = analyze(f"a{char}b", smart=True)
    assert (a.text, a.encoding) == (f"a{replacement}b", "GSM-7")
    assert analyze(f"a{char}b").text == unicodedata.normalize("NFC", f"a{char}b")


def test_each_unicode_space_becomes_one_space() -> None:
    assert analyze("a\u00a0\u00a0b\u3000c\u2003d", smart=True).text == "a  b c d"


def test_smart_keeps_gsm7_text_unchanged() -> None:
    text = 'Hello "world" - it\'s 5€ {ok} [x] ~ | ^ \\ \f\r\n'
    a = analyze(text, smart=True)
    assert (a.text, a.changed) == (text, False)


def test_smart_removes_zwj_only_when_it_alone_forces_ucs2() -> None:
    assert analyze("test\u200d", smart=True).text == "test"
    assert analyze("a\u200cb\ufe0f", smart=True).text == "ab"
    family = "👨\u200d👩\u200d👧"
    assert analyze(f"hi {family}", smart=True).text == f"hi {family}"
    assert analyze("❤\ufe0f", smart=True).text == "❤\ufe0f"


def test_smart_saves_segments() -> None:
    text = "„Promocja” – rabat 20% … sprawdź « teraz »! " * 4
    plain = analyze(text)
    both = analyze(text, smart=True, transliterate=True)
    assert plain.encoding == "UCS-2"
    assert both.encoding == "GSM-7"
    assert both.segments < plain.segments


def test_tables_map_only_non_gsm7_characters_to_gsm7() -> None:
    for table in (TRANSLITERATION, SMART):
        for code, replacement in table.items():
            assert chr(code) not in GSM7_CHARS
            assert set(replacement) <= GSM7_CHARS
