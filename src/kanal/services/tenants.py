"""Tenants (accounts) and their API keys."""

import hashlib
import secrets
import uuid
import zoneinfo

from pydantic import Field
from sqlalchemy import select

from kanal.core.errors import Problem, Unauthorized
from kanal.core.i18n import LOCALES
from kanal.core.ids import new_id
from kanal.core.phones import is_known_region
from kanal.services.common import Schema, TenantInfo, View, raise_if
from kanal.services.mailboxes import add_initial_mailbox
from kanal.services.wallet import add_wallet
from kanal.store.models import ApiKey, Branch, Tenant
from kanal.store.orm import utcnow
from kanal.store.uow import UnitOfWork, UnitOfWorkFactory

KEY_PREFIX = "kn_"


class _BillingData(Schema):
    """Registry data used on invoices and in generated contracts (seed 000)."""

    legal_name: str | None = Field(default=None, max_length=300)
    registry_number: str | None = Field(default=None, max_length=32)
    billing_street: str | None = Field(default=None, max_length=200)
    billing_postal_code: str | None = Field(default=None, max_length=16)
    billing_city: str | None = Field(default=None, max_length=100)
    billing_country: str | None = Field(default=None, max_length=2)
    billing_email: str | None = Field(default=None, max_length=320)
    billing_phone: str | None = Field(default=None, max_length=40)


class TenantIn(_BillingData):
    name: str = Field(min_length=1, max_length=200)
    locale: str = "pl"
    timezone: str = "Europe/Warsaw"
    phone_region: str = "PL"


class TenantPatch(_BillingData):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    locale: str | None = None
    timezone: str | None = None
    phone_region: str | None = None


class TenantView(View):
    id: uuid.UUID
    name: str
    locale: str
    timezone: str
    phone_region: str
    legal_name: str | None
    registry_number: str | None
    billing_street: str | None
    billing_postal_code: str | None
    billing_city: str | None
    billing_country: str | None
    billing_email: str | None
    billing_phone: str | None


class NewApiKey(View):
    id: uuid.UUID
    tenant_id: uuid.UUID
    name: str
    prefix: str
    key: str  # the only time the secret is shown


def _settings_problems(
    locale: str | None, timezone: str | None, region: str | None
) -> list[Problem]:
    problems = []
    if locale is not None and locale not in LOCALES:
        problems.append(Problem("locale_unsupported", "locale", {"value": locale}))
    if timezone is not None and timezone not in zoneinfo.available_timezones():
        problems.append(Problem("timezone_unknown", "timezone", {"value": timezone}))
    if region is not None and not is_known_region(region):
        problems.append(Problem("region_unknown", "phone_region", {"value": region}))
    return problems


def create_tenant(uows: UnitOfWorkFactory, data: TenantIn) -> TenantView:
    """A new account with its main branch (named like the tenant until it is edited)."""
    raise_if(_settings_problems(data.locale, data.timezone, data.phone_region))
    with uows.system() as uow:
        tenant = Tenant(**data.model_dump(), id=new_id())
        tenant.phone_region = data.phone_region.upper()
        uow.session.add(tenant)
        uow.flush()  # the tenant row first: branches refer to it
        uow.session.add(Branch(tenant_id=tenant.id, trade_name=data.name, is_main=True))
        add_initial_mailbox(uow.session, tenant.id)
        add_wallet(uow.session, tenant.id, tenant.locale)
        uow.commit()
        return TenantView.model_validate(tenant)


def get_tenant(uow: UnitOfWork, tenant: TenantInfo) -> TenantView:
    with uow:
        return TenantView.model_validate(uow.session.get_one(Tenant, tenant.id))


def update_tenant(uow: UnitOfWork, tenant: TenantInfo, patch: TenantPatch) -> TenantView:
    raise_if(_settings_problems(patch.locale, patch.timezone, patch.phone_region))
    with uow:
        row = uow.session.get_one(Tenant, tenant.id)
        for name, value in patch.model_dump(exclude_unset=True).items():
            if value is not None or name not in ("name", "locale", "timezone", "phone_region"):
                setattr(row, name, value.upper() if name == "phone_region" else value)
        uow.commit()
        return TenantView.model_validate(row)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(uows: UnitOfWorkFactory, tenant_id: uuid.UUID, name: str) -> NewApiKey:
    """Mint a key; only its SHA-256 is kept (a 256-bit random key needs no slow hash)."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    with uows.for_tenant(tenant_id) as uow:
        uow.session.get_one(Tenant, tenant_id)
        key = ApiKey(name=name, prefix=secret[:10], secret_hash=_hash(secret))
        uow.session.add(key)
        uow.commit()
        return NewApiKey(id=key.id, tenant_id=tenant_id, name=name, prefix=key.prefix, key=secret)


def authenticate(uows: UnitOfWorkFactory, secret: str | None) -> TenantInfo:
    """The tenant behind a presented key, or Unauthorized."""
    if not secret or not secret.startswith(KEY_PREFIX):
        raise Unauthorized()
    with uows.system() as uow:
        row = uow.session.execute(
            select(ApiKey, Tenant)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(ApiKey.secret_hash == _hash(secret), ApiKey.revoked_at.is_(None))
        ).one_or_none()
        if row is None:
            raise Unauthorized()
        key, tenant = row
        now = utcnow()
        # Touch at most once a minute, so reads stay reads.
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            key.last_used_at = now
            uow.commit()
        return TenantInfo(
            id=tenant.id,
            name=tenant.name,
            locale=tenant.locale,
            timezone=tenant.timezone,
            phone_region=tenant.phone_region,
        )
