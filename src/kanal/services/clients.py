"""Clients: contact data, channel permissions, consent, and the recipient search."""

import uuid
from datetime import datetime

from pydantic import Field, computed_field
from sqlalchemy import Select, and_, exists, or_
from sqlalchemy.orm import Session

from kanal.core.emails import normalise_email
from kanal.core.errors import Problem, ValidationFailed
from kanal.core.phones import Phone, parse_phone, search_digits
from kanal.core.text import fold
from kanal.core.vocab import ClientKind, Locale
from kanal.services.common import Page, Schema, TenantInfo, View, external_id_problems, require_ref
from kanal.services.records import Records
from kanal.store.models import Branch, Client, ClientEmail, ClientPhone
from kanal.store.orm import utcnow
from kanal.store.uow import UnitOfWork


class PhoneIn(Schema):
    number: str = Field(min_length=1, max_length=40, description="As typed: '601 234 567'")
    label: str | None = Field(default=None, max_length=50)
    country: str | None = Field(
        default=None, min_length=2, max_length=2, description="Region for numbers without +"
    )


class EmailIn(Schema):
    address: str = Field(min_length=3, max_length=320)
    label: str | None = Field(default=None, max_length=50)


class ClientPatch(Schema):
    """Fields to change; lists given replace the stored ones; what is left out stays."""

    name: str | None = Field(default=None, min_length=1, max_length=300)
    kind: ClientKind | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=100)
    locale: Locale | None = None
    home_branch_id: uuid.UUID | None = None
    phones: list[PhoneIn] | None = Field(default=None, max_length=20)
    emails: list[EmailIn] | None = Field(default=None, max_length=20)
    sms_info_allowed: bool | None = None
    email_allowed: bool | None = None
    whatsapp_allowed: bool | None = None
    viber_allowed: bool | None = None
    telegram_chat_id: str | None = Field(default=None, max_length=64)
    portal_active: bool | None = None
    marketing_consent: bool | None = None
    marketing_consent_source: str | None = Field(default=None, max_length=200)


class ClientIn(ClientPatch):
    name: str = Field(min_length=1, max_length=300)
    kind: ClientKind = ClientKind.PERSON
    phones: list[PhoneIn] = Field(default_factory=list, max_length=20)
    emails: list[EmailIn] = Field(default_factory=list, max_length=20)
    sms_info_allowed: bool = True
    email_allowed: bool = True
    whatsapp_allowed: bool = False
    viber_allowed: bool = False
    portal_active: bool = False
    marketing_consent: bool = False


class PhoneView(View):
    e164: str
    country: str
    number_type: str
    label: str | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def mobile(self) -> bool:
        return Phone(self.e164, self.country, self.number_type).mobile

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sms_capable(self) -> bool:
        """The green badge on the client card."""
        return Phone(self.e164, self.country, self.number_type).sms_capable


class EmailView(View):
    address: str
    label: str | None
    blocked_reason: str | None
    blocked_at: datetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def blocked(self) -> bool:
        """Delivery stopped after a bounce: the alert on the client card (seed 000)."""
        return self.blocked_at is not None


class ClientView(View):
    id: uuid.UUID
    external_id: str | None
    kind: str
    name: str
    locale: str | None
    home_branch_id: uuid.UUID | None
    phones: list[PhoneView]
    emails: list[EmailView]
    sms_info_allowed: bool
    email_allowed: bool
    whatsapp_allowed: bool
    viber_allowed: bool
    telegram_chat_id: str | None
    portal_active: bool
    marketing_consent: bool
    marketing_consent_at: datetime | None
    marketing_consent_source: str | None
    created_at: datetime
    updated_at: datetime


_SCALARS = (
    "name", "kind", "external_id", "locale", "home_branch_id", "sms_info_allowed",
    "email_allowed", "whatsapp_allowed", "viber_allowed", "telegram_chat_id", "portal_active",
)  # fmt: skip


def _phones(tenant: TenantInfo, row: Client, items: list[PhoneIn]) -> list[Problem]:
    problems: list[Problem] = []
    parsed: list[tuple[Phone, PhoneIn]] = []
    for index, item in enumerate(items):
        field = f"phones[{index}].number"
        try:
            phone = parse_phone(item.number, item.country or tenant.phone_region, field)
        except ValidationFailed as exc:
            problems += exc.problems
            continue
        if any(phone.e164 == seen.e164 for seen, _ in parsed):
            problems.append(Problem("phone_duplicate", field, {"value": phone.e164}))
        parsed.append((phone, item))
    if problems:
        return problems
    kept = {p.e164: p for p in row.phones}
    row.phones = []
    for position, (phone, item) in enumerate(parsed):
        stored = kept.get(phone.e164) or ClientPhone(tenant_id=tenant.id, e164=phone.e164)
        stored.country, stored.number_type = phone.country, phone.number_type
        stored.label, stored.position = item.label, position
        row.phones.append(stored)
    return []


def _emails(tenant: TenantInfo, row: Client, items: list[EmailIn]) -> list[Problem]:
    problems: list[Problem] = []
    addresses: list[str] = []
    for index, item in enumerate(items):
        field = f"emails[{index}].address"
        try:
            address = normalise_email(item.address, field)
        except ValidationFailed as exc:
            problems += exc.problems
            continue
        if address in addresses:
            problems.append(Problem("email_duplicate", field, {"value": address}))
        addresses.append(address)
    if problems:
        return problems
    kept = {e.address: e for e in row.emails}  # a bounce block survives an edit of the list
    row.emails = []
    for position, (address, item) in enumerate(zip(addresses, items, strict=True)):
        stored = kept.get(address) or ClientEmail(tenant_id=tenant.id, address=address)
        stored.label, stored.position = item.label, position
        row.emails.append(stored)
    return []


def _apply(session: Session, tenant: TenantInfo, row: Client, patch: ClientPatch) -> list[Problem]:
    """Validate everything and copy it onto the row; return every problem found."""
    values = patch.model_dump(exclude_unset=True)
    problems: list[Problem] = []
    for name in _SCALARS:
        if name in values and (values[name] is not None or name not in ("name", "kind")):
            setattr(row, name, values[name])
    if patch.phones is not None:
        problems += _phones(tenant, row, patch.phones)
    if patch.emails is not None:
        problems += _emails(tenant, row, patch.emails)
    if "marketing_consent" in values and values["marketing_consent"] is not None:
        if row.marketing_consent != values["marketing_consent"] or row.marketing_consent_at is None:
            row.marketing_consent_at = utcnow()
        row.marketing_consent = values["marketing_consent"]
    if "marketing_consent_source" in values:
        row.marketing_consent_source = values["marketing_consent_source"]
    row.name_folded = fold(row.name)
    problems += require_ref(session, Branch, row.home_branch_id, "branch_unknown", "home_branch_id")
    problems += external_id_problems(session, Client, row.external_id, row.id)
    return problems


clients = Records(Client, ClientView, ClientPatch, "client", _apply)


def _search(stmt: Select[Client], tenant: TenantInfo, query: str) -> Select[Client]:
    """Match a name (every word, accents ignored), a phone in any format, or an email."""
    conditions = []
    words = fold(query).split()
    if words:
        # every word must match: "kowal jan" finds "Jan Kowalski"
        conditions.append(and_(*[Client.name_folded.contains(w, autoescape=True) for w in words]))
    digits = search_digits(query, tenant.phone_region)
    if digits and (digits.startswith("+") or len(digits) >= 3):
        phone_match = (
            ClientPhone.e164 == digits
            if digits.startswith("+")
            else ClientPhone.e164.contains(digits.lstrip("0"), autoescape=True)
        )
        conditions.append(exists().where(ClientPhone.client_id == Client.id, phone_match))
    if "@" in query or "." in query:
        needle = query.strip().lower()
        conditions.append(
            exists().where(
                ClientEmail.client_id == Client.id,
                ClientEmail.address.contains(needle, autoescape=True),
            )
        )
    return stmt.where(or_(*conditions)) if conditions else stmt.where(Client.id.is_(None))


def search_clients(
    uow: UnitOfWork, tenant: TenantInfo, query: str | None, cursor: str | None, limit: int
) -> Page[ClientView]:
    """The list, or the compose form's recipient search when ``query`` is given."""
    if query and query.strip():
        return clients.list(uow, cursor, limit, lambda stmt: _search(stmt, tenant, query))
    return clients.list(uow, cursor, limit)
