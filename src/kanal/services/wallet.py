"""The prepaid wallet: top-ups, reservations at queue time, charges on send, releases.

The balance is what new messages can still reserve against, and it always equals the
sum of the ledger. Every SMS delivery moves through it like a card payment:

    queued    reservation  −cost   (balance goes down: nobody else can spend it)
    sent      release +cost, charge −cost, written together (the hold is captured)
    failed    release +cost        (the money comes back)

A delivery has at most one entry of each kind (a unique key), and the worker writes
them while it holds the delivery row locked and fenced by its attempt number, so a
retry, a duplicate result or a killed worker can never charge or refund twice.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import Field
from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from kanal.core.errors import NotFound, Problem, ValidationFailed, invalid
from kanal.core.ids import new_id
from kanal.core.money import wallet_currency
from kanal.services.common import Schema, TenantInfo, View, decode_cursor, encode_cursor
from kanal.store.models import Tenant
from kanal.store.orm import utcnow
from kanal.store.sms import SmsPrice, Wallet, WalletEntry
from kanal.store.uow import UnitOfWork, UnitOfWorkFactory

TOPUP, RESERVATION, RELEASE, CHARGE = "topup", "reservation", "release", "charge"
# Core inserts: these run in every compose and every recorded SMS result (the hot paths).
ENTRIES: Table = WalletEntry.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class Hold:
    """The money one SMS delivery holds: what the worker passes to charge or release."""

    tenant_id: uuid.UUID
    delivery_id: uuid.UUID
    cost_minor: int


def add_wallet(session: Session, tenant_id: uuid.UUID, locale: str) -> None:
    """A new tenant's empty wallet."""
    session.add(Wallet(tenant_id=tenant_id, currency=wallet_currency(locale), balance_minor=0))


def wallet_of(session: Session, tenant_id: uuid.UUID) -> Wallet:
    wallet = session.scalars(select(Wallet).where(Wallet.tenant_id == tenant_id)).one_or_none()
    if wallet is None:
        raise NotFound(resource="wallet")
    return wallet


def price_list(session: Session) -> dict[tuple[str, str], int]:
    return {
        (currency, country): price
        for currency, country, price in session.execute(
            select(SmsPrice.currency, SmsPrice.country, SmsPrice.price_minor)
        )
    }


def _entry(tenant_id: uuid.UUID, kind: str, amount: int, delivery_id: uuid.UUID | None,
           reference: str | None, now: datetime) -> dict[str, object]:  # fmt: skip
    return {
        "id": new_id(),
        "tenant_id": tenant_id,
        "kind": kind,
        "amount_minor": amount,
        "delivery_id": delivery_id,
        "reference": reference,
        "created_at": now,
        "updated_at": now,
    }


def reserve(session: Session, tenant_id: uuid.UUID, holds: Sequence[Hold]) -> None:
    """Hold the cost of new SMS deliveries, in the transaction that queues them.

    The balance check and the debit are one conditional UPDATE: two sends racing for the
    last złoty cannot both pass. Not enough money is a validation error (nothing queued).
    """
    total = sum(h.cost_minor for h in holds)
    if not holds or total == 0:
        return
    result = session.execute(
        update(Wallet)
        .where(Wallet.tenant_id == tenant_id, Wallet.balance_minor >= total)
        .values(balance_minor=Wallet.balance_minor - total, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        balance = session.scalars(
            select(Wallet.balance_minor).where(Wallet.tenant_id == tenant_id)
        ).one_or_none()
        raise ValidationFailed(
            [Problem("insufficient_balance", "channels.sms",
                     {"balance": balance or 0, "cost": total, "channel": "sms"})]
        )  # fmt: skip
    now = utcnow()
    session.execute(
        ENTRIES.insert(),
        [_entry(tenant_id, RESERVATION, -h.cost_minor, h.delivery_id, None, now) for h in holds],
    )


def _kinds(session: Session, holds: Sequence[Hold]) -> dict[uuid.UUID, set[str]]:
    found: dict[uuid.UUID, set[str]] = {}
    ids = [h.delivery_id for h in holds]
    for delivery_id, kind in session.execute(
        select(WalletEntry.delivery_id, WalletEntry.kind).where(WalletEntry.delivery_id.in_(ids))
    ):
        if delivery_id is not None:
            found.setdefault(delivery_id, set()).add(kind)
    return found


def charge(session: Session, holds: Sequence[Hold]) -> int:
    """Sent: capture each delivery's reservation (release + charge, net zero). Returns the count.

    No check of what was written before: the worker calls this only for deliveries it holds
    locked in ``sending``, which a delivery leaves for good once sent; the unique key on
    (delivery, kind) stops any second charge regardless.
    """
    now = utcnow()
    rows: list[dict[str, object]] = []
    for h in holds:
        if h.cost_minor:
            rows.append(_entry(h.tenant_id, RELEASE, h.cost_minor, h.delivery_id, None, now))
            rows.append(_entry(h.tenant_id, CHARGE, -h.cost_minor, h.delivery_id, None, now))
    if rows:
        session.execute(ENTRIES.insert(), rows)
    return len(rows) // 2


def release(session: Session, holds: Sequence[Hold]) -> int:
    """Failed for good: give each delivery's reservation back. Returns the count."""
    holds = [h for h in holds if h.cost_minor]
    if not holds:
        return 0
    kinds = _kinds(session, holds)
    now = utcnow()
    rows, back = [], dict[uuid.UUID, int]()
    for h in holds:
        seen = kinds.get(h.delivery_id, set())
        if RESERVATION in seen and not seen & {CHARGE, RELEASE}:
            rows.append(_entry(h.tenant_id, RELEASE, h.cost_minor, h.delivery_id, None, now))
            back[h.tenant_id] = back.get(h.tenant_id, 0) + h.cost_minor
    if not rows:
        return 0
    session.execute(ENTRIES.insert(), rows)
    for tenant_id, amount in sorted(back.items()):  # a fixed order: no deadlock between workers
        session.execute(
            update(Wallet)
            .where(Wallet.tenant_id == tenant_id)
            .values(balance_minor=Wallet.balance_minor + amount, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(rows)


# --- top-ups and the statement -----------------------------------------------------------


class TopUpIn(Schema):
    amount_minor: int = Field(gt=0, le=100_000_000_00)
    reference: str = Field(min_length=1, max_length=200)  # the payment's id: repeat-safe


class EntryView(View):
    id: uuid.UUID
    kind: str
    amount_minor: int
    delivery_id: uuid.UUID | None
    reference: str | None
    created_at: datetime


class WalletView(View):
    currency: str
    balance_minor: int
    reserved_minor: int  # held by SMS still queued or sending
    charged_minor: int  # spent on sent SMS, all time
    entries: list[EntryView]
    next_cursor: str | None = None


def top_up(uows: UnitOfWorkFactory, tenant_id: uuid.UUID, data: TopUpIn) -> tuple[EntryView, bool]:
    """Add money (service staff, after a payment). The same reference twice adds it once."""
    with uows.for_tenant(tenant_id) as uow:
        session = uow.session
        if session.get(Tenant, tenant_id) is None:
            raise NotFound(resource="tenant")
        same = session.scalars(
            select(WalletEntry).where(
                WalletEntry.kind == TOPUP, WalletEntry.reference == data.reference
            )
        ).first()
        if same is not None:
            if same.amount_minor != data.amount_minor:
                raise invalid("topup_reference_reused", "reference")
            return EntryView.model_validate(same), False
        wallet = session.scalars(
            select(Wallet).where(Wallet.tenant_id == tenant_id).with_for_update()
        ).one()
        wallet.balance_minor += data.amount_minor
        entry = WalletEntry(
            tenant_id=tenant_id, kind=TOPUP, amount_minor=data.amount_minor,
            reference=data.reference,
        )  # fmt: skip
        session.add(entry)
        uow.commit()
        return EntryView.model_validate(entry), True


def statement(uow: UnitOfWork, tenant: TenantInfo, cursor: str | None = None,
              limit: int = 100) -> WalletView:  # fmt: skip
    """The balance, what is held and spent, and the ledger (newest first, paged)."""
    limit = max(1, min(limit, 500))
    with uow:
        session = uow.session
        wallet = wallet_of(session, tenant.id)
        totals = dict(
            session.execute(
                select(
                    WalletEntry.kind, func.coalesce(func.sum(WalletEntry.amount_minor), 0)
                ).group_by(WalletEntry.kind)
            ).all()
        )
        stmt = select(WalletEntry).order_by(WalletEntry.id.desc()).limit(limit + 1)
        if cursor:
            stmt = stmt.where(WalletEntry.id < decode_cursor(cursor))
        rows = list(session.scalars(stmt))
        next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
        return WalletView(
            currency=wallet.currency,
            balance_minor=wallet.balance_minor,
            # a held delivery has only its reservation; captured or released ones net zero
            reserved_minor=-(int(totals.get(RESERVATION, 0)) + int(totals.get(RELEASE, 0))),
            charged_minor=-int(totals.get(CHARGE, 0)),
            entries=[EntryView.model_validate(r) for r in rows[:limit]],
            next_cursor=next_cursor,
        )


def ledger_sum(
    session: Session, tenant_ids: Iterable[uuid.UUID] | None = None
) -> dict[uuid.UUID, int]:
    """Per tenant, the sum of the ledger: it must equal the wallet's balance."""
    stmt = select(WalletEntry.tenant_id, func.sum(WalletEntry.amount_minor)).group_by(
        WalletEntry.tenant_id
    )
    if tenant_ids is not None:
        stmt = stmt.where(WalletEntry.tenant_id.in_(list(tenant_ids)))
    return {tenant_id: int(total) for tenant_id, total in session.execute(stmt)}
