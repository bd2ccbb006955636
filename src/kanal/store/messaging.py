"""Threads, messages and the outbox: what was said, and how each copy travels."""

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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kanal.store.orm import Base, Record, TenantOwned


class Mailbox(Base, Record):
    """A tenant's email local part. Renaming adds a row; old ones keep receiving (seed 001)."""

    __tablename__ = "mailboxes"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    local_part: Mapped[str] = mapped_column(String(64), unique=True)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)


class SmtpAccount(Base, TenantOwned):
    """A tenant's own SMTP relay (seed 004); without one the service relay is used."""

    __tablename__ = "smtp_accounts"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer, default=587)
    security: Mapped[str] = mapped_column(String(10), default="starttls")
    username: Mapped[str | None] = mapped_column(String(255))
    password_encrypted: Mapped[str | None] = mapped_column(Text)  # Fernet token
    auth: Mapped[str] = mapped_column(String(10), default="PLAIN")
    helo_name: Mapped[str | None] = mapped_column(String(255))  # the served domain
    return_path: Mapped[str | None] = mapped_column(String(320))
    bcc: Mapped[str | None] = mapped_column(String(320))


class Thread(Base, TenantOwned):
    """A conversation with one client about one context (or none), across every channel."""

    __tablename__ = "threads"
    __table_args__ = (
        UniqueConstraint("tenant_id", "reply_token"),
        # One thread per (client, context): two first messages racing cannot make two.
        UniqueConstraint("tenant_id", "key"),
    )

    key: Mapped[str | None] = mapped_column(String(80))  # "<client>/<context>", "-" for none
    client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="SET NULL"), index=True
    )
    context_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contexts.id", ondelete="SET NULL"), index=True
    )
    subject: Mapped[str | None] = mapped_column(String(500))
    reply_token: Mapped[str] = mapped_column(String(32))
    replyable: Mapped[bool] = mapped_column(Boolean, default=True)
    last_message_at: Mapped[datetime | None] = mapped_column()


class Message(Base, TenantOwned):
    """One message in a thread, in or out; what was said, not how it travelled."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        # a thread's latest message is one index probe, however long the thread
        Index("ix_messages_thread_created", "thread_id", "created_at"),
        # a follow-up's parent email, however many SMS the thread has had since
        Index(
            "ix_messages_thread_email",
            "thread_id",
            "created_at",
            sqlite_where=text("email_message_id IS NOT NULL"),
            postgresql_where=text("email_message_id IS NOT NULL"),
        ),
    )

    thread_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    author_employee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("employees.id", ondelete="SET NULL")
    )
    subject: Mapped[str | None] = mapped_column(String(500))
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    marketing: Mapped[bool] = mapped_column(Boolean, default=False)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # Email threading: our Message-ID, and the ids this one answers.
    email_message_id: Mapped[str | None] = mapped_column(String(255), index=True)
    email_in_reply_to: Mapped[str | None] = mapped_column(String(255))
    email_references: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)

    attachments: Mapped[list["MessageAttachment"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )
    # Declared so one flush writes thread, message, deliveries and events in FK order.
    thread: Mapped[Thread] = relationship(lazy="raise")


class MessageAttachment(Base, TenantOwned):
    __tablename__ = "message_attachments"

    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Delivery(Base, TenantOwned):
    """One (message, channel, recipient): the outbox row a worker claims and delivers."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_tenant_due", "tenant_id", "status", "next_attempt_at"),
        Index("ix_deliveries_provider_message_id", "provider_message_id"),  # reports find it
        Index("ix_deliveries_tenant_channel_created", "tenant_id", "channel", "created_at"),
    )

    message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(320))
    purpose: Mapped[str] = mapped_column(String(16), default="message")  # or portal_notice
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    lease_until: Mapped[datetime | None] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    error_code: Mapped[str | None] = mapped_column(String(100))
    error_message: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column()
    final_at: Mapped[datetime | None] = mapped_column()
    # SMS: what goes out exactly (after transliteration), from whom, its size and price.
    body: Mapped[str | None] = mapped_column(Text)
    sender: Mapped[str | None] = mapped_column(String(20))
    segments: Mapped[int | None] = mapped_column(Integer)
    encoding: Mapped[str | None] = mapped_column(String(8))
    cost_minor: Mapped[int | None] = mapped_column(Integer)
    gateway: Mapped[str | None] = mapped_column(String(50))  # the one that took it

    message: Mapped[Message] = relationship(lazy="raise")


class DeliveryEvent(Base, TenantOwned):
    """Every transition of a delivery, with its time and reason."""

    __tablename__ = "delivery_events"

    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str | None] = mapped_column(Text)

    delivery: Mapped[Delivery] = relationship(lazy="raise")


class PortalMessage(Base, TenantOwned):
    """A message in a client's portal inbox (seed 001), read or not."""

    __tablename__ = "portal_messages"
    __table_args__ = (UniqueConstraint("message_id", "client_id"),)

    client_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    read_at: Mapped[datetime | None] = mapped_column()


class CapturedMail(Base, TenantOwned):
    """What the dev outbox caught instead of sending (no relay configured)."""

    __tablename__ = "captured_mail"

    delivery_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(320))
    recipients: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(String(500))
    raw: Mapped[bytes] = mapped_column(LargeBinary)


class WebhookEndpoint(Base, TenantOwned):
    """Where the host application hears about delivery status changes."""

    __tablename__ = "webhook_endpoints"

    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))  # whsec_…, shown to the tenant
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(String(200))


class WebhookEvent(Base, TenantOwned):
    """One event for one endpoint: an outbox row too, retried with backoff."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_due", "status", "next_attempt_at"),)

    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    lease_until: Mapped[datetime | None] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column()
