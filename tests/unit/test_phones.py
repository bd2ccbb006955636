"""Phone parsing: every way a person types a number finds the same E.164."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kanal.core.errors import ValidationFailed
from kanal.core.phones import parse_phone, search_digits


@pytest.mark.parametrize(
    ("typed", "region", "e164", "country", "mobile", "sms_capable"),
    [
        ("601 234 567", "PL", "+48601234567", "PL", True, True),
        ("+48601234567", "PL", "+48601234567", "PL", True, True),
        ("0048 601-234-567", "PL", "+48601234567", "PL", True, True),
        ("(+48) 601 234 567", "PL", "+48601234567", "PL", True, True),
        ("+48 12 345 67 89", "PL", "+48123456789", "PL", False, False),  # Kraków landline
        ("12 345 67 89", "PL", "+48123456789", "PL", False, False),
        ("+420 601 123 456", "PL", "+420601123456", "CZ", True, True),
        ("601 123 456", "CZ", "+420601123456", "CZ", True, True),
        ("00420 731 123 456", "PL", "+420731123456", "CZ", True, True),
        ("+420 542 123 456", "PL", "+420542123456", "CZ", False, False),  # Brno landline
        ("+44 7400 123456", "PL", "+447400123456", "GB", True, True),
        ("+1 201 555 0123", "PL", "+12015550123", "US", False, True),  # NANP: fixed or mobile
        ("800 123 456", "PL", "+48800123456", "PL", False, False),  # toll free
    ],
)
def test_typed_numbers_parse_to_e164(
    typed: str, region: str, e164: str, country: str, mobile: bool, sms_capable: bool
) -> None:
    phone = parse_phone(typed, region)
    assert (phone.e164, phone.country) == (e164, country)
    assert (phone.mobile, phone.sms_capable) == (mobile, sms_capable)


@pytest.mark.parametrize(
    "typed", ["123", "601 234", "abc", "", "+48 000 000 000", "+48 601 234 567 890"]
)
def test_invalid_numbers_are_rejected_with_a_code(typed: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_phone(typed, "PL", "phones[0].number")
    (problem,) = caught.value.problems
    assert (problem.code, problem.field, problem.params["value"]) == (
        "phone_invalid",
        "phones[0].number",
        typed,
    )


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("601 234 567", "+48601234567"),
        ("0048 601-234-567", "+48601234567"),
        ("234 567", "234567"),
        ("Kowalski", None),
    ],
)
def test_search_digits(typed: str, expected: str | None) -> None:
    assert search_digits(typed, "PL") == expected


@given(st.text(max_size=40))
def test_parse_phone_never_raises_anything_but_validation(text: str) -> None:
    try:
        phone = parse_phone(text, "PL")
    except ValidationFailed:
        return
    assert phone.e164.startswith("+") and phone.e164[1:].isdigit()
