"""Can this message go to this recipient on this channel? Reasons, never booleans.

The compose form's "standard validation error" (seed 001) and the client card's
channel list both come from :func:`check`: for each chosen channel either the
address to deliver to, or a machine code saying why not.
"""

from dataclasses import dataclass, field

from kanal.core.vocab import Channel

# Channels whose adapters exist today; the rest answer "channel_unavailable".
AVAILABLE = frozenset({Channel.EMAIL, Channel.PORTAL, Channel.SMS})


@dataclass(frozen=True, slots=True)
class EmailFacts:
    address: str
    blocked_reason: str | None = None


@dataclass(frozen=True, slots=True)
class PhoneFacts:
    e164: str
    sms_capable: bool


@dataclass(frozen=True, slots=True)
class Recipient:
    """What the rules need to know of a recipient (a client, an employee, or an ad-hoc one)."""

    emails: tuple[EmailFacts, ...] = ()
    phones: tuple[PhoneFacts, ...] = ()
    email_allowed: bool = True
    sms_info_allowed: bool = True
    portal_active: bool = False
    marketing_consent: bool = False
    is_client: bool = True  # the portal exists only for clients


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rules need to know of the message and the account."""

    marketing: bool = False
    sms_enabled: bool = True
    sms_cost_minor: int = 0  # reserved per SMS delivery (the wallet issue fills it in)
    balance_minor: int | None = None  # None: no wallet check
    enabled_channels: frozenset[str] = field(default_factory=lambda: AVAILABLE)


@dataclass(frozen=True, slots=True)
class Allowed:
    channel: str
    address: str


@dataclass(frozen=True, slots=True)
class Refused:
    channel: str
    code: str
    params: dict[str, str] = field(default_factory=dict)


Verdict = Allowed | Refused


def check(channel: str, recipient: Recipient, facts: Facts) -> Verdict:
    """The first reason this channel cannot be used, or the address it will use."""
    if channel not in facts.enabled_channels:
        return Refused(channel, "channel_unavailable", {"channel": channel})
    if facts.marketing and not recipient.marketing_consent:
        return Refused(channel, "marketing_consent_missing")
    if channel == Channel.EMAIL:
        return _email(recipient)
    if channel == Channel.PORTAL:
        if not recipient.is_client or not recipient.portal_active:
            return Refused(channel, "portal_not_active")
        return Allowed(channel, "portal")
    if channel == Channel.SMS:
        return _sms(recipient, facts)
    return Refused(channel, "channel_unavailable", {"channel": channel})


def _email(recipient: Recipient) -> Verdict:
    if not recipient.email_allowed:
        return Refused(Channel.EMAIL, "email_not_allowed")
    if not recipient.emails:
        return Refused(Channel.EMAIL, "no_email_address")
    for email in recipient.emails:
        if email.blocked_reason is None:
            return Allowed(Channel.EMAIL, email.address)
    first = recipient.emails[0]
    return Refused(
        Channel.EMAIL,
        "email_blocked",
        {"address": first.address, "reason": first.blocked_reason or ""},
    )


def _sms(recipient: Recipient, facts: Facts) -> Verdict:
    if not facts.sms_enabled:
        return Refused(Channel.SMS, "sms_disabled")
    if not recipient.sms_info_allowed:
        return Refused(Channel.SMS, "sms_info_not_allowed")
    if not recipient.phones:
        return Refused(Channel.SMS, "no_phone")
    mobile = next((p for p in recipient.phones if p.sms_capable), None)
    if mobile is None:
        return Refused(Channel.SMS, "phone_not_mobile", {"phone": recipient.phones[0].e164})
    if facts.balance_minor is not None and facts.balance_minor < facts.sms_cost_minor:
        return Refused(Channel.SMS, "insufficient_balance")
    return Allowed(Channel.SMS, mobile.e164)


def check_all(channels: list[str], recipient: Recipient, facts: Facts) -> list[Verdict]:
    """A verdict for every chosen channel, in the order chosen (duplicates dropped)."""
    return [check(channel, recipient, facts) for channel in dict.fromkeys(channels)]
