"""Text folding, ids, messages: the small rules everything else leans on."""

import re
import uuid
from pathlib import Path

import pytest

from kanal.core.i18n import LOCALES, MESSAGES, pick_locale, translate
from kanal.core.ids import new_id
from kanal.core.text import fold

SRC = Path(__file__).resolve().parents[2] / "src" / "kanal"


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Łukasz Żółć", "lukasz zolc"),
        ("  Jiří   Dvořák ", "jiri dvorak"),
        ("ŚWIĘTOKRZYSKA", "swietokrzyska"),
        ("Kateřina Kučerová", "katerina kucerova"),
        ("Straße", "strasse"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_ids_are_uuid7_and_time_ordered() -> None:
    ids = [new_id() for _ in range(1000)]
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)
    assert len(set(ids)) == 1000
    millis = [i.int >> 80 for i in ids]
    assert millis == sorted(millis)


def test_every_message_has_every_language() -> None:
    for code, entry in MESSAGES.items():
        assert set(entry) == set(LOCALES), code
        placeholders = {re.findall(r"{(\w+)}", text).__str__() for text in entry.values()}
        assert len(placeholders) == 1, f"{code}: languages use different placeholders"


def test_every_code_raised_in_the_source_has_a_message() -> None:
    source = "\n".join(p.read_text() for p in SRC.rglob("*.py"))
    raised = set(re.findall(r'(?:Problem|invalid)\(\s*"([a-z_]+)"', source))
    raised |= set(re.findall(r'code = "([a-z_]+)"', source))
    raised.discard("error")  # the abstract base class
    assert raised, "the scan found nothing; the pattern is stale"
    assert sorted(raised - set(MESSAGES)) == []


def test_translate_falls_back_and_formats() -> None:
    assert translate("phone_invalid", "cs", {"value": "123"}) == "Neplatné telefonní číslo: 123."
    assert translate("phone_invalid", "de", {"value": "1"}).startswith("Niepoprawny")
    assert translate("no_such_code", "en") == "no_such_code"
    assert pick_locale(None, "cs-CZ,cs;q=0.9") == "cs"
    assert pick_locale("xx", None) == "pl"
