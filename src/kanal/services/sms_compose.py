"""Compose-time SMS: the exact text, its size and price, who it comes from.

Everything is decided when the message is queued, in the same transaction as its
wallet reservation, so the price the tenant sees is the price it pays: the worker sends
``Delivery.body`` from ``Delivery.sender`` and nothing it does changes the cost.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kanal.core import money, sms
from kanal.core.errors import invalid
from kanal.core.phones import describe_e164
from kanal.core.sms_advice import validate_sender_number
from kanal.services.sender_names import approved_name
from kanal.store.sms import (
    ClientSender,
    SenderNumber,
    SmsPrice,
    SmsSettings,
    Wallet,
)

DEFAULT_MAX_SEGMENTS = 6


@dataclass(frozen=True, slots=True)
class SmsOptions:
    """A tenant's SMS settings (seed 002), with the defaults for a tenant that set none."""

    enabled: bool = True
    transliterate: bool = False
    smart: bool = False
    max_segments: int = DEFAULT_MAX_SEGMENTS
    sender_name: str | None = None  # an approved alphanumeric sender the tenant chose


def sms_options(session: Session, tenant_id: uuid.UUID) -> SmsOptions:
    row = session.scalars(select(SmsSettings).where(SmsSettings.tenant_id == tenant_id)).first()
    if row is None:
        return SmsOptions()
    name = approved_name(session, row.sender_name_id)
    return SmsOptions(row.enabled, row.transliterate, row.smart, row.max_segments, name)


@dataclass(frozen=True, slots=True)
class SmsPlan:
    """One SMS as it will go out and be paid for."""

    text: str
    encoding: str
    segments: int
    cost_minor: int
    sender: str
    replyable: bool  # from a number: the client can answer; from a name: nobody can
    new_assignment: ClientSender | None = None  # a client's first number, to be written


def measure(text: str, options: SmsOptions) -> sms.SmsAnalysis:
    """The text as sent and its size; longer than the tenant allows is a validation error."""
    analysis = sms.analyze(
        text,
        transliterate=options.transliterate,
        smart=options.smart,
        max_segments=options.max_segments,
    )
    if analysis.too_long:
        raise invalid(
            "sms_too_long", "text", segments=analysis.segments, max_segments=options.max_segments
        )
    return analysis


def price(session: Session, tenant_id: uuid.UUID, to_e164: str, segments: int) -> tuple[int, int]:
    """(cost of this SMS, the wallet's balance now) in the wallet's currency: one query."""
    country = describe_e164(to_e164).country
    rows = session.execute(
        select(Wallet.currency, Wallet.balance_minor, SmsPrice.country, SmsPrice.price_minor)
        .outerjoin(
            SmsPrice,
            (SmsPrice.currency == Wallet.currency)
            & SmsPrice.country.in_([country, money.DEFAULT_COUNTRY]),
        )
        .where(Wallet.tenant_id == tenant_id)
    ).all()
    currency, balance = (rows[0][0], rows[0][1]) if rows else ("PLN", 0)
    prices = {(currency, row[2]): row[3] for row in rows if row[2] is not None}
    try:
        unit = money.segment_price(prices, currency, country)
    except LookupError as exc:
        raise invalid("sms_no_price", "recipient", currency=currency) from exc
    return money.sms_cost(segments, unit), balance


def _pool_number(session: Session, tenant_id: uuid.UUID) -> SenderNumber | None:
    """The active pool number with the fewest clients (ties: the lowest number)."""
    load = (
        select(ClientSender.number_id, func.count().label("clients"))
        .group_by(ClientSender.number_id)
        .subquery()
    )
    return session.scalars(
        select(SenderNumber)
        .outerjoin(load, load.c.number_id == SenderNumber.id)
        .where(SenderNumber.tenant_id == tenant_id, SenderNumber.active)
        .order_by(func.coalesce(load.c.clients, 0), SenderNumber.e164)
        .limit(1)
    ).first()


def choose_sender(
    session: Session, tenant_id: uuid.UUID, client_id: uuid.UUID | None, options: SmsOptions,
    default_sender: str,
) -> tuple[str, bool, ClientSender | None]:  # fmt: skip
    """(sender, replyable, a new sticky assignment to write).

    An approved name the tenant chose wins (nobody can answer it). Otherwise a client
    always gets the same pool number (seed 001): one thread on their phone, and a reply
    can be matched to them. Without a pool, the service's brand name.
    """
    if options.sender_name:
        return options.sender_name, False, None
    if client_id is not None:
        found = session.execute(
            select(ClientSender, SenderNumber.active)
            .join(SenderNumber, SenderNumber.id == ClientSender.number_id)
            .where(ClientSender.client_id == client_id)
        ).first()
        if found is not None and found[1]:
            return found[0].e164, True, None
        number = _pool_number(session, tenant_id)
        if number is not None:
            if found is not None:  # its number left the pool: a new one, for good again
                found[0].number_id, found[0].e164 = number.id, number.e164
                return number.e164, True, None
            assignment = ClientSender(
                tenant_id=tenant_id, client_id=client_id, number_id=number.id, e164=number.e164
            )
            return number.e164, True, assignment
    else:
        number = _pool_number(session, tenant_id)
        if number is not None:
            return number.e164, True, None
    return default_sender, _is_number(default_sender), None


def _is_number(sender: str) -> bool:
    return sender.startswith("+") and not validate_sender_number(sender)


def plan(
    session: Session, tenant_id: uuid.UUID, client_id: uuid.UUID | None, to_e164: str,
    text: str, options: SmsOptions, default_sender: str,
) -> tuple[SmsPlan, int]:  # fmt: skip
    """The SMS to queue and the wallet balance it will be reserved against."""
    analysis = measure(text, options)
    cost, balance = price(session, tenant_id, to_e164, analysis.segments)
    sender, replyable, assignment = choose_sender(
        session, tenant_id, client_id, options, default_sender
    )
    return (
        SmsPlan(
            text=analysis.text,
            encoding=analysis.encoding,
            segments=analysis.segments,
            cost_minor=cost,
            sender=sender,
            replyable=replyable,
            new_assignment=assignment,
        ),
        balance,
    )
