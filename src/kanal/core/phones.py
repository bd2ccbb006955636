"""Phone numbers as people type them, stored as E.164.

Parsing uses ``phonenumbers`` in the tenant's default region, so "601 234 567",
"+48601234567" and "0048 601-234-567" are one number. ``sms_capable`` is the
product's green badge: the number is valid and can receive SMS.
"""

from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from kanal.core.errors import ValidationFailed, invalid

_TYPE_NAMES = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}


@dataclass(frozen=True, slots=True)
class Phone:
    """A valid phone number: E.164 text, ISO country and what kind of line it is."""

    e164: str
    country: str
    number_type: str

    @property
    def mobile(self) -> bool:
        """The numbering plan says this is a mobile number."""
        return self.number_type == "mobile"

    @property
    def sms_capable(self) -> bool:
        """SMS can reach it: mobile, or a plan (like NANP) that does not tell mobile from fixed."""
        return self.number_type in ("mobile", "fixed_line_or_mobile")


def is_known_region(region: str) -> bool:
    """True for an ISO 3166 region that phonenumbers has metadata for ("PL", "CZ", …)."""
    return region.upper() in phonenumbers.SUPPORTED_REGIONS


def parse_phone(text: str, region: str, field: str | None = None) -> Phone:
    """Parse what a person typed; raise ValidationFailed(``phone_invalid``) if it is no number."""
    try:
        number = phonenumbers.parse(text, region.upper())
    except NumberParseException as exc:
        raise invalid("phone_invalid", field, value=text) from exc
    if not phonenumbers.is_valid_number(number):
        raise invalid("phone_invalid", field, value=text)
    return Phone(
        e164=phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
        country=phonenumbers.region_code_for_number(number) or region.upper(),
        number_type=_TYPE_NAMES.get(phonenumbers.number_type(number), "unknown"),
    )


def describe_e164(e164: str) -> Phone:
    """Rebuild the Phone facts of a stored E.164 number (it was valid when stored)."""
    return parse_phone(e164, "ZZ")


def search_digits(text: str, region: str) -> str | None:
    """The E.164 form of a complete typed number, or its bare digits for a partial one.

    A compose form's recipient search sends whatever is typed: a full number in any
    format finds its E.164 form; a fragment ("234 567") is matched by digits.
    """
    try:
        return parse_phone(text, region).e164
    except ValidationFailed:
        digits = "".join(ch for ch in text if ch.isdigit())
        return digits or None
