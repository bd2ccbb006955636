"""Sender name (alphanumeric) and sender number (E.164) validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kanal.core.sms import SenderProblem, validate_sender_name, validate_sender_number


def summary(problems: list[SenderProblem]) -> list[tuple[str, dict[str, Any]]]:
    return [(p.code, p.params) for p in problems]


@pytest.mark.parametrize(
    "name",
    [
        "A", "Kanal", "KANAL", "kanal24", "Sklep 24", "ABCDEFGHIJK", "a.b&c@d-e+f",
        "Shop_1!%", "1a", "x-y", "A B",
    ],
)  # fmt: skip
def test_valid_sender_names(name: str) -> None:
    assert validate_sender_name(name) == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", [("sender_name_empty", {})]),
        ("ABCDEFGHIJKL", [("sender_name_too_long", {"length": 12, "max": 11})]),
        (
            "Kraków",
            [("sender_name_diacritics", {"characters": ["ó"], "suggestion": "Krakow"})],
        ),
        (
            "ŁÓDŹ",
            [("sender_name_diacritics", {"characters": ["Ł", "Ó", "Ź"], "suggestion": "LODZ"})],
        ),
        (
            "A–B",
            [
                (
                    "sender_name_en_dash",
                    {"characters": ["–"], "replacement": "-", "suggestion": "A-B"},
                )
            ],
        ),
        (
            "A—B−C",
            [
                (
                    "sender_name_en_dash",
                    {"characters": ["—", "−"], "replacement": "-", "suggestion": "A-B-C"},
                )
            ],
        ),
        ("12345", [("sender_name_no_letter", {})]),
        ("!!!", [("sender_name_no_letter", {})]),
        ("   ", [("sender_name_no_letter", {})]),
        ("Zoo#1", [("sender_name_bad_characters", {"characters": ["#"]})]),
        ("a/b/c", [("sender_name_bad_characters", {"characters": ["/"]})]),
        ("Shop😀", [("sender_name_bad_characters", {"characters": ["😀"]})]),
        (
            "ЖЖ",
            [("sender_name_bad_characters", {"characters": ["Ж"]}), ("sender_name_no_letter", {})],
        ),
        (
            "Sklep–Żabka#",
            [
                ("sender_name_too_long", {"length": 12, "max": 11}),
                (
                    "sender_name_en_dash",
                    {"characters": ["–"], "replacement": "-", "suggestion": "Sklep-Zabka#"},
                ),
                (
                    "sender_name_diacritics",
                    {"characters": ["Ż"], "suggestion": "Sklep-Zabka#"},
                ),
                ("sender_name_bad_characters", {"characters": ["#"]}),
            ],
        ),
        ("Ó", [("sender_name_diacritics", {"characters": ["Ó"], "suggestion": "O"})]),
    ],
)
def test_invalid_sender_names(name: str, expected: list[tuple[str, dict[str, Any]]]) -> None:
    assert summary(validate_sender_name(name)) == expected


def test_decomposed_diacritics_are_normalised_first() -> None:
    [problem] = validate_sender_name("Krako\u0301w")
    assert problem.code == "sender_name_diacritics"
    assert problem.params["characters"] == ["ó"]


def test_en_dash_problem_tells_to_use_the_hyphen() -> None:
    [problem] = validate_sender_name("A–B")
    assert problem.hint is not None
    assert '"-"' in problem.hint
    assert '"-"' in problem.message


def test_digit_only_name_hints_at_number() -> None:
    [problem] = validate_sender_name("600700800")
    assert problem.hint is not None
    assert "number" in problem.hint


@pytest.mark.parametrize("number", ["+48600700800", "+1", "+420123456789", "+123456789012345"])
def test_valid_sender_numbers(number: str) -> None:
    assert validate_sender_number(number) == []


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("", [("sender_number_empty", {})]),
        ("48600700800", [("sender_number_missing_plus", {"leading_00": False})]),
        ("0048600700800", [("sender_number_missing_plus", {"leading_00": True})]),
        ("+048600", [("sender_number_leading_zero", {})]),
        ("+0", [("sender_number_leading_zero", {})]),
        ("+1234567890123456", [("sender_number_too_long", {"digits": 16, "max": 15})]),
        ("+", [("sender_number_no_digits", {})]),
        ("+48 600 700 800", [("sender_number_bad_characters", {"characters": [" "]})]),
        ("+48-600-(700)", [("sender_number_bad_characters", {"characters": ["-", "(", ")"]})]),
        ("+48a1", [("sender_number_bad_characters", {"characters": ["a"]})]),
        (
            "+٤٨",
            [
                ("sender_number_bad_characters", {"characters": ["٤", "٨"]}),
                ("sender_number_no_digits", {}),
            ],
        ),
        ("++48", [("sender_number_bad_characters", {"characters": ["+"]})]),
        (
            "0600 700",
            [
                ("sender_number_missing_plus", {"leading_00": False}),
                ("sender_number_bad_characters", {"characters": [" "]}),
            ],
        ),
    ],
)
def test_invalid_sender_numbers(number: str, expected: list[tuple[str, dict[str, Any]]]) -> None:
    assert summary(validate_sender_number(number)) == expected


def test_number_hints() -> None:
    [missing] = validate_sender_number("0048600700800")
    assert missing.hint == 'Replace the leading "00" with "+".'
    [spaces] = validate_sender_number("+48 600")
    assert spaces.hint is not None
    [letters] = validate_sender_number("+48a")
    assert letters.hint is None


def test_problems_are_json_ready_and_hashable() -> None:
    problems = validate_sender_name("Sklep–Żabka#") + validate_sender_number("48 x")
    for problem in problems:
        data = problem.to_dict()
        assert json.loads(json.dumps(data)) == data
        assert data["code"] == problem.code
        assert problem.message
        hash(problem)
