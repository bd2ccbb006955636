"""The service staff's side of the wallet: top-ups after a payment, a tenant's statement.

The money rules are :mod:`kanal.services.wallet`; this finds the tenant by id (staff
are not a tenant) and reports the balance a top-up led to.
"""

import uuid
from decimal import Decimal, InvalidOperation

from kanal.core.errors import NotFound, invalid
from kanal.services.common import TenantInfo, View
from kanal.services.wallet import EntryView, TopUpIn, WalletView, statement, top_up, wallet_of
from kanal.store.models import Tenant
from kanal.store.uow import UnitOfWorkFactory


class TopUpView(View):
    entry: EntryView
    created: bool  # False: that reference was already topped up (nothing was added)
    currency: str
    balance_minor: int


def minor_units(amount: str) -> int:
    """ "100.00" or "100" → 10000: two decimals at most, more than zero."""
    try:
        value = Decimal(amount.strip().replace(",", "."))
    except InvalidOperation as exc:
        raise invalid("amount_invalid", "amount", value=amount) from exc
    minor = value * 100
    if not value.is_finite() or value <= 0 or minor != minor.to_integral_value():
        raise invalid("amount_invalid", "amount", value=amount)
    return int(minor)


def _tenant(uows: UnitOfWorkFactory, tenant_id: uuid.UUID) -> TenantInfo:
    with uows.system() as uow:
        row = uow.session.get(Tenant, tenant_id)
        if row is None:
            raise NotFound(resource="tenant")
        return TenantInfo(row.id, row.name, row.locale, row.timezone, row.phone_region)


def staff_top_up(uows: UnitOfWorkFactory, tenant_id: uuid.UUID, data: TopUpIn) -> TopUpView:
    """Add a payment to a tenant's wallet; the same reference twice adds it once."""
    tenant = _tenant(uows, tenant_id)
    entry, created = top_up(uows, tenant.id, data)
    with uows.for_tenant(tenant.id) as uow:
        wallet = wallet_of(uow.session, tenant.id)
        return TopUpView(
            entry=entry,
            created=created,
            currency=wallet.currency,
            balance_minor=wallet.balance_minor,
        )


def staff_statement(
    uows: UnitOfWorkFactory, tenant_id: uuid.UUID, cursor: str | None = None, limit: int = 100
) -> WalletView:
    tenant = _tenant(uows, tenant_id)
    return statement(uows.for_tenant(tenant.id), tenant, cursor, limit)
