"""SMS: per-tenant settings, gateways, senders, the prepaid wallet and delivery reports."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kanal.store.orm import Base, Record, TenantOwned


class SmsSettings(Base, TenantOwned):
    """How a tenant's SMS go out (seed 002); a tenant without a row gets the defaults."""

    __tablename__ = "sms_settings"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    transliterate: Mapped[bool] = mapped_column(Boolean, default=False)  # no Polish letters
    smart: Mapped[bool] = mapped_column(Boolean, default=False)  # lookalikes → GSM-7
    max_segments: Mapped[int] = mapped_column(Integer, default=6)
    # An approved sender name; None: the client's sticky number (or the service's name).
    sender_name_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sender_names.id", ondelete="SET NULL")
    )
    # Names of the tenant's own gateways (sms_gateways.name); None: the service's.
    primary_gateway: Mapped[str | None] = mapped_column(String(50))
    secondary_gateway: Mapped[str | None] = mapped_column(String(50))


class SmsGatewayAccount(Base, TenantOwned):
    """A tenant's own gateway account (seed 003: "integration with an SMS gateway")."""

    __tablename__ = "sms_gateways"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(16))  # smsapi | twilio | generic
    config_encrypted: Mapped[str] = mapped_column(Text)  # Fernet token of the JSON config
    callback_token: Mapped[str] = mapped_column(String(64))  # in its delivery-report URL


class SenderNumber(Base, TenantOwned):
    """A number of the tenant's pool; each client gets one for good (seed 001)."""

    __tablename__ = "sender_numbers"
    __table_args__ = (UniqueConstraint("tenant_id", "e164"),)

    e164: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ClientSender(Base, TenantOwned):
    """The number a client's SMS always come from: one thread on their phone, replies match."""

    __tablename__ = "client_senders"
    __table_args__ = (UniqueConstraint("tenant_id", "client_id"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    number_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sender_numbers.id", ondelete="CASCADE"), index=True
    )
    e164: Mapped[str] = mapped_column(String(20), index=True)


class SenderName(Base, TenantOwned):
    """An alphanumeric sender requested by a tenant: requested → submitted → approved|rejected."""

    __tablename__ = "sender_names"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(11))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    # The name is the registered company name (else a supporting document is needed).
    registered_name: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(100))
    rejection_reason: Mapped[str | None] = mapped_column(Text)


class SenderNameDocument(Base, TenantOwned):
    """A file behind a sender-name request: the signed statement, or a supporting document."""

    __tablename__ = "sender_name_documents"

    sender_name_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("sender_names.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # statement | supporting
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Wallet(Base, TenantOwned):
    """A tenant's prepaid balance in minor units; always the sum of its ledger."""

    __tablename__ = "wallets"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    currency: Mapped[str] = mapped_column(String(3), default="PLN")
    balance_minor: Mapped[int] = mapped_column(Integer, default=0)


class WalletEntry(Base, TenantOwned):
    """One line of the ledger: topup (+), reservation (−), release (+), charge (−).

    Sending turns a reservation into a charge as a card payment is captured: a release
    of the hold and the charge, written together. At most one of each kind per delivery
    (the unique key), so retries, duplicates and crashes can never charge twice.
    """

    __tablename__ = "wallet_entries"
    __table_args__ = (
        UniqueConstraint("delivery_id", "kind"),
        Index("ix_wallet_entries_tenant_created", "tenant_id", "created_at"),
    )

    kind: Mapped[str] = mapped_column(String(12))
    amount_minor: Mapped[int] = mapped_column(Integer)  # signed: its effect on the balance
    delivery_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    reference: Mapped[str | None] = mapped_column(String(200))  # a top-up's payment reference


class SmsPrice(Base, Record):
    """The service's price of one SMS segment to a country ("*": every other country)."""

    __tablename__ = "sms_prices"
    __table_args__ = (UniqueConstraint("currency", "country"),)

    currency: Mapped[str] = mapped_column(String(3))
    country: Mapped[str] = mapped_column(String(2))
    price_minor: Mapped[int] = mapped_column(Integer)


class DeliveryReport(Base, TenantOwned):
    """A provider's delivery report, kept as received; applied when its delivery is known.

    A report can arrive before the worker has recorded the send (the provider answered
    the callback faster than our commit): it waits here, unapplied, and the recording
    applies it.
    """

    __tablename__ = "delivery_reports"
    __table_args__ = (
        UniqueConstraint("gateway", "provider_message_id", "status"),  # replays are no-ops
        Index("ix_delivery_reports_pending", "provider_message_id", "applied_at"),
    )

    gateway: Mapped[str] = mapped_column(String(50))
    provider_message_id: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    provider_code: Mapped[str | None] = mapped_column(String(50))
    provider_status: Mapped[str | None] = mapped_column(String(50))
    reported_at: Mapped[datetime | None] = mapped_column()
    applied_at: Mapped[datetime | None] = mapped_column()
    delivery_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), index=True
    )
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
