"""suggest(): which characters cost extra segments and what changing them saves."""

from __future__ import annotations

import json

from kanal.core.sms import SmsSuggestion, analyze, suggest


def codes(suggestions: list[SmsSuggestion]) -> list[str]:
    return [s.code for s in suggestions]


def test_gsm7_text_gets_no_suggestions() -> None:
    assert suggest("Hello [world] 5€") == []
    assert suggest("") == []


def test_quotes_alone() -> None:
    text = "Pan Kowalski said: „hello” " * 7  # 189 chars: 3 UCS-2 SMS, 2 GSM-7 SMS
    assert analyze(text).segments == 3
    [s] = suggest(text)
    assert s.code == "sms_replace"
    assert s.characters == ("„", "”")
    assert s.replacement == '"'
    assert s.mapping == (("„", '"'), ("”", '"'))
    assert (s.segments_before, s.segments_after, s.saved) == (3, 2, 1)
    assert s.encoding_after == "GSM-7"
    assert s.message == 'replace „ and ” with ": 3 SMS → 2 SMS'


def test_transliteration_alone() -> None:
    text = "Zażółć gęślą jaźń " * 5  # 90 chars
    [s] = suggest(text)
    assert s.code == "sms_transliterate"
    assert s.replacement is None
    assert ("ł", "l") in s.mapping
    assert (s.segments_before, s.segments_after) == (2, 1)
    assert s.message.startswith("send without diacritics (ż→z, ó→o, ł→l")
    assert s.message.endswith(": 2 SMS → 1 SMS")


def test_all_of_it_when_no_single_change_helps() -> None:
    text = "Zażółć „gęślą” jaźń – ok… " * 4
    suggestions = suggest(text)
    assert codes(suggestions) == ["sms_all"]
    [s] = suggestions
    assert s.segments_after == analyze(text, transliterate=True, smart=True).segments
    assert s.segments_after < s.segments_before
    assert dict(s.mapping)["…"] == "..."
    assert dict(s.mapping)["ł"] == "l"
    assert s.message.startswith("send without diacritics and typographic characters: ")


def test_invisible_characters() -> None:
    text = "a" * 100 + "\u200b"
    [s] = suggest(text)
    assert s.code == "sms_remove_invisible"
    assert s.replacement == ""
    assert s.message == "remove U+200B (zero width space): 2 SMS → 1 SMS"


def test_no_break_space_message() -> None:
    [s] = suggest("a\u00a0b" * 60)
    assert s.message == "replace U+00A0 (no-break space) with a space: 3 SMS → 2 SMS"


def test_unsupported_characters() -> None:
    text = "Hello 😀 " + "x" * 150
    [s] = suggest(text)
    assert s.code == "sms_unsupported"
    assert s.characters == ("😀",)
    assert s.message == "😀 cannot be sent in GSM-7; without it: 3 SMS → 1 SMS"


def test_unsupported_with_other_replacements() -> None:
    text = "Hi 👍 „x” " * 10
    [s] = suggest(text)
    assert s.code == "sms_unsupported"
    assert "and the rest replaced" in s.message
    assert (s.segments_before, s.segments_after) == (2, 1)


def test_no_suggestion_when_nothing_saves() -> None:
    assert suggest("zażółć „x”") == []  # one UCS-2 SMS either way


def test_to_dict_is_json_ready() -> None:
    [s] = suggest("Pan Kowalski said: „hello” " * 7)
    data = s.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["saved"] == 1
    assert data["characters"] == ["„", "”"]
