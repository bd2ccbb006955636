"""The tables. Every row but a tenant's own belongs to one tenant (``TenantOwned``)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kanal.store.orm import Base, Record, TenantOwned


class Tenant(Base, Record):
    """An account: one business using kanal, with its billing data (seed 000)."""

    __tablename__ = "tenants"

    name: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(5), default="pl")
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Warsaw")
    phone_region: Mapped[str] = mapped_column(String(2), default="PL")
    # Billing data: registry data used on invoices and in generated contracts and consents.
    legal_name: Mapped[str | None] = mapped_column(String(300))
    registry_number: Mapped[str | None] = mapped_column(String(32))  # NIP / IČO
    billing_street: Mapped[str | None] = mapped_column(String(200))
    billing_postal_code: Mapped[str | None] = mapped_column(String(16))
    billing_city: Mapped[str | None] = mapped_column(String(100))
    billing_country: Mapped[str | None] = mapped_column(String(2))
    billing_email: Mapped[str | None] = mapped_column(String(320))
    billing_phone: Mapped[str | None] = mapped_column(String(20))


class ApiKey(Base, TenantOwned):
    """A key a host application uses; only the SHA-256 of the secret is kept."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in lists to tell keys apart
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class Partner(Base, TenantOwned):
    """A reseller scope between the tenant and its branches (CIBS partner, seed 004)."""

    __tablename__ = "partners"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)

    external_id: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))


class Branch(Base, TenantOwned):
    """A place that serves clients; its contact data is what clients see (seed 000)."""

    __tablename__ = "branches"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        # Exactly one main branch per tenant: at most one by index, at least one by the service.
        Index(
            "uq_branches_main",
            "tenant_id",
            unique=True,
            sqlite_where=text("is_main"),
            postgresql_where=text("is_main"),
        ),
    )

    external_id: Mapped[str | None] = mapped_column(String(100))
    partner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL")
    )
    trade_name: Mapped[str] = mapped_column(String(200))
    street: Mapped[str | None] = mapped_column(String(200))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))
    is_main: Mapped[bool] = mapped_column(Boolean, default=False)


class Employee(Base, TenantOwned):
    """Staff. Their contact data is private and never shown to clients."""

    __tablename__ = "employees"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)

    external_id: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(16), default="other")
    branch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("branches.id", ondelete="SET NULL")
    )


class Client(Base, TenantOwned):
    """A person or company the business serves, with what each channel may be used for."""

    __tablename__ = "clients"
    __table_args__ = (UniqueConstraint("tenant_id", "external_id"),)

    external_id: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="person")
    name: Mapped[str] = mapped_column(String(300))
    name_folded: Mapped[str] = mapped_column(String(300), index=True)  # for search
    locale: Mapped[str | None] = mapped_column(String(5))
    home_branch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("branches.id", ondelete="SET NULL")
    )
    # Per-channel permissions.
    sms_info_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    email_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    whatsapp_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    viber_allowed: Mapped[bool] = mapped_column(Boolean, default=False)
    telegram_chat_id: Mapped[str | None] = mapped_column(String(64))
    portal_active: Mapped[bool] = mapped_column(Boolean, default=False)
    # GDPR: service messages need no consent; marketing does (seed 001).
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    marketing_consent_at: Mapped[datetime | None] = mapped_column()
    marketing_consent_source: Mapped[str | None] = mapped_column(String(200))

    phones: Mapped[list["ClientPhone"]] = relationship(
        order_by="ClientPhone.position", cascade="all, delete-orphan", lazy="selectin"
    )
    emails: Mapped[list["ClientEmail"]] = relationship(
        order_by="ClientEmail.position", cascade="all, delete-orphan", lazy="selectin"
    )


class ClientPhone(Base, TenantOwned):
    """One of a client's numbers, in E.164 with its country (seed 002: each its own code)."""

    __tablename__ = "client_phones"
    __table_args__ = (UniqueConstraint("client_id", "e164"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20), index=True)
    country: Mapped[str] = mapped_column(String(2))
    number_type: Mapped[str] = mapped_column(String(24))
    label: Mapped[str | None] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer, default=0)


class ClientEmail(Base, TenantOwned):
    """One of a client's addresses; a bounce blocks it, shown as an alert on the client card."""

    __tablename__ = "client_emails"
    __table_args__ = (UniqueConstraint("client_id", "address"),)

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320), index=True)  # stored lower-cased
    label: Mapped[str | None] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer, default=0)
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    blocked_at: Mapped[datetime | None] = mapped_column()


class Context(Base, TenantOwned):
    """A record of the host application that messages can concern: an order, a ticket, …"""

    __tablename__ = "contexts"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "external_id"),)

    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(100))
    number: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str | None] = mapped_column(String(100))
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), index=True
    )
    branch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("branches.id", ondelete="SET NULL")
    )
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # snapshot for templates

    assignees: Mapped[list["ContextAssignee"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class ContextAssignee(Base, TenantOwned):
    """An employee assigned to a context (executor, manager …)."""

    __tablename__ = "context_assignees"
    __table_args__ = (UniqueConstraint("context_id", "employee_id"),)

    context_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contexts.id", ondelete="CASCADE"))
    employee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("employees.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16), default="executor")
