"""Eligibility: every reason a channel can be refused, as a table."""

import pytest

from kanal.core.eligibility import (
    AVAILABLE,
    Allowed,
    EmailFacts,
    Facts,
    PhoneFacts,
    Recipient,
    Refused,
    check,
    check_all,
)

MOBILE = PhoneFacts("+48601234567", sms_capable=True)
LANDLINE = PhoneFacts("+48123456789", sms_capable=False)
EMAIL = EmailFacts("anna@example.com")
BLOCKED = EmailFacts("anna@exmaple.com", blocked_reason="550 5.1.1 user unknown")
WITH_SMS = Facts(enabled_channels=AVAILABLE | {"sms"})


@pytest.mark.parametrize(
    ("channel", "recipient", "facts", "expected"),
    [
        ("email", Recipient(emails=(EMAIL,)), Facts(), Allowed("email", EMAIL.address)),
        ("email", Recipient(), Facts(), "no_email_address"),
        ("email", Recipient(emails=(EMAIL,), email_allowed=False), Facts(), "email_not_allowed"),
        ("email", Recipient(emails=(BLOCKED,)), Facts(), "email_blocked"),
        ("email", Recipient(emails=(BLOCKED, EMAIL)), Facts(), Allowed("email", EMAIL.address)),
        ("portal", Recipient(portal_active=True), Facts(), Allowed("portal", "portal")),
        ("portal", Recipient(portal_active=False), Facts(), "portal_not_active"),
        ("portal", Recipient(portal_active=True, is_client=False), Facts(), "portal_not_active"),
        (
            "sms",
            Recipient(phones=(MOBILE,)),
            Facts(enabled_channels=frozenset({"email"})),
            "channel_unavailable",
        ),
        ("sms", Recipient(phones=(MOBILE,)), Facts(), Allowed("sms", MOBILE.e164)),
        ("sms", Recipient(phones=(MOBILE,)), WITH_SMS, Allowed("sms", MOBILE.e164)),
        ("sms", Recipient(phones=(LANDLINE, MOBILE)), WITH_SMS, Allowed("sms", MOBILE.e164)),
        ("sms", Recipient(), WITH_SMS, "no_phone"),
        ("sms", Recipient(phones=(LANDLINE,)), WITH_SMS, "phone_not_mobile"),
        (
            "sms",
            Recipient(phones=(MOBILE,), sms_info_allowed=False),
            WITH_SMS,
            "sms_info_not_allowed",
        ),
        (
            "sms",
            Recipient(phones=(MOBILE,)),
            Facts(enabled_channels=WITH_SMS.enabled_channels, sms_enabled=False),
            "sms_disabled",
        ),
        (
            "sms",
            Recipient(phones=(MOBILE,)),
            Facts(enabled_channels=WITH_SMS.enabled_channels, sms_cost_minor=18, balance_minor=17),
            "insufficient_balance",
        ),
        (
            "sms",
            Recipient(phones=(MOBILE,)),
            Facts(enabled_channels=WITH_SMS.enabled_channels, sms_cost_minor=18, balance_minor=18),
            Allowed("sms", MOBILE.e164),
        ),
        ("email", Recipient(emails=(EMAIL,)), Facts(marketing=True), "marketing_consent_missing"),
        (
            "email",
            Recipient(emails=(EMAIL,), marketing_consent=True),
            Facts(marketing=True),
            Allowed("email", EMAIL.address),
        ),
        ("telegram", Recipient(), Facts(), "channel_unavailable"),
        ("letter", Recipient(), Facts(), "channel_unavailable"),
    ],
)
def test_check(channel: str, recipient: Recipient, facts: Facts, expected: object) -> None:
    verdict = check(channel, recipient, facts)
    if isinstance(expected, str):
        assert isinstance(verdict, Refused)
        assert verdict.code == expected
    else:
        assert verdict == expected


def test_blocked_email_says_which_address_and_why() -> None:
    verdict = check("email", Recipient(emails=(BLOCKED,)), Facts())
    assert isinstance(verdict, Refused)
    assert verdict.params == {"address": BLOCKED.address, "reason": "550 5.1.1 user unknown"}


def test_check_all_keeps_order_and_drops_duplicates() -> None:
    verdicts = check_all(
        ["portal", "email", "portal"], Recipient(emails=(EMAIL,), portal_active=True), Facts()
    )
    assert [v.channel for v in verdicts] == ["portal", "email"]
    assert all(isinstance(v, Allowed) for v in verdicts)
