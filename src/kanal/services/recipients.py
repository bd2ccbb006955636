"""Who a message goes to, as the eligibility rules see them, and the client card's channels."""

import uuid
from typing import Self

from pydantic import BaseModel, Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from kanal.core import eligibility
from kanal.core.eligibility import Allowed, EmailFacts, Facts, PhoneFacts, Recipient
from kanal.core.emails import normalise_email
from kanal.core.errors import NotFound
from kanal.core.i18n import translate
from kanal.core.phones import Phone, parse_phone
from kanal.core.vocab import Channel
from kanal.services.common import Schema, TenantInfo, get_or_404
from kanal.services.sms_compose import sms_options
from kanal.store.models import Client, Employee
from kanal.store.sms import Wallet
from kanal.store.uow import UnitOfWork


class RecipientIn(Schema):
    """Exactly one of: a client, an employee, or an ad-hoc address/number."""

    client_id: uuid.UUID | None = None
    employee_id: uuid.UUID | None = None
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [self.client_id, self.employee_id, self.email or self.phone]
        if sum(k is not None for k in kinds) != 1:
            raise ValueError("give exactly one of client_id, employee_id, or email/phone")
        return self


def client_facts(client: Client) -> Recipient:
    return Recipient(
        emails=tuple(EmailFacts(e.address, e.blocked_reason) for e in client.emails),
        phones=tuple(
            PhoneFacts(p.e164, Phone(p.e164, p.country, p.number_type).sms_capable)
            for p in client.phones
        ),
        email_allowed=client.email_allowed,
        sms_info_allowed=client.sms_info_allowed,
        portal_active=client.portal_active,
        marketing_consent=client.marketing_consent,
    )


def _contact_facts(tenant: TenantInfo, email: str | None, phone: str | None) -> Recipient:
    """An employee or an ad-hoc recipient: contact data only, no client permissions."""
    emails = (EmailFacts(normalise_email(email, "recipient.email")),) if email else ()
    phones: tuple[PhoneFacts, ...] = ()
    if phone:
        parsed = parse_phone(phone, tenant.phone_region, "recipient.phone")
        phones = (PhoneFacts(parsed.e164, parsed.sms_capable),)
    return Recipient(emails=emails, phones=phones, is_client=False, marketing_consent=False)


def recipient_facts(session: Session, tenant: TenantInfo, recipient: RecipientIn) -> Recipient:
    if recipient.client_id is not None:
        client = (
            session.scalars(
                select(Client)
                .where(Client.id == recipient.client_id)
                .options(joinedload(Client.phones), joinedload(Client.emails))
            )
            .unique()
            .one_or_none()
        )  # one query, not three
        if client is None:
            raise NotFound(resource="client")
        return client_facts(client)
    if recipient.employee_id is not None:
        employee = get_or_404(session, Employee, recipient.employee_id, "employee")
        return _contact_facts(tenant, employee.email, employee.phone)
    return _contact_facts(tenant, recipient.email, recipient.phone)


class ChannelStatus(BaseModel):
    channel: str
    available: bool
    address: str | None = None
    code: str | None = None
    message: str | None = None


def client_channels(
    uow: UnitOfWork, tenant: TenantInfo, client_id: uuid.UUID
) -> list[ChannelStatus]:
    """What the client card shows: each channel, usable or why not, before composing."""
    with uow:
        client = get_or_404(uow.session, Client, client_id, "client")
        facts = client_facts(client)
        options = sms_options(uow.session, tenant.id)
        balance = uow.session.scalars(
            select(Wallet.balance_minor).where(Wallet.tenant_id == tenant.id)
        ).first()
    # Before a text exists, SMS needs a positive balance (seed 001); composing checks the price.
    account = Facts(sms_enabled=options.enabled, balance_minor=balance or 0, sms_cost_minor=1)
    result = []
    for channel in Channel:
        verdict = eligibility.check(channel, facts, account)
        if isinstance(verdict, Allowed):
            result.append(ChannelStatus(channel=channel, available=True, address=verdict.address))
        else:
            params = {"channel": channel, **verdict.params}
            result.append(
                ChannelStatus(
                    channel=channel,
                    available=False,
                    code=verdict.code,
                    message=translate(verdict.code, tenant.locale, params),
                )
            )
    return result
