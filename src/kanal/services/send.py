"""Compose: one message to one recipient on several channels, in ONE transaction.

Eligibility is checked for every chosen channel first; then the message, its thread
and one delivery row per channel (the outbox) are written together, so there is no
moment where a message exists without its deliveries or the other way round.
"""

import base64
import binascii
import hashlib
import json
import secrets
import uuid
from dataclasses import replace
from typing import Any

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanal.core import eligibility
from kanal.core.eligibility import Allowed, Facts, Recipient, Refused
from kanal.core.emails import normalise_email
from kanal.core.errors import Problem, ValidationFailed, invalid
from kanal.core.i18n import translate
from kanal.core.ids import new_id
from kanal.core.phones import parse_phone
from kanal.core.vocab import Channel, ContextKind, DeliveryStatus, Direction
from kanal.services import sms_compose, wallet
from kanal.services.common import Schema, TenantInfo, get_or_404
from kanal.services.messages import MessageView, message_view, new_message_view
from kanal.services.recipients import RecipientIn, recipient_facts
from kanal.services.sms_compose import SmsOptions, SmsPlan, sms_options
from kanal.store.bulk import insert_rows
from kanal.store.db import notify_outbox
from kanal.store.messaging import Delivery, DeliveryEvent, Message, MessageAttachment, Thread
from kanal.store.models import Context, Employee
from kanal.store.orm import utcnow
from kanal.store.uow import UnitOfWork

MAX_ATTACHMENTS_BYTES = 10 * 1024 * 1024


class ContextRef(Schema):
    kind: ContextKind
    external_id: str = Field(min_length=1, max_length=100)


class AttachmentIn(Schema):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(default="application/pdf", max_length=100)
    content_base64: str = Field(max_length=14_000_000)  # 10 MB once decoded


class Overrides(Schema):
    """Send to another address or number than the client card's, this time only (seed 003)."""

    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)


class SendRequest(Schema):
    recipient: RecipientIn
    channels: list[Channel] = Field(min_length=1, max_length=7)
    text: str = Field(min_length=1, max_length=100_000)
    subject: str | None = Field(default=None, max_length=500)
    html: str | None = Field(default=None, max_length=500_000)
    context_id: uuid.UUID | None = None
    context: ContextRef | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=10)
    overrides: Overrides | None = None
    skip_unavailable: bool = False
    marketing: bool = False
    automatic: bool = False
    author_employee_id: uuid.UUID | None = None


def request_hash(request: SendRequest) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _context(session: Session, request: SendRequest) -> Context | None:
    if request.context_id is not None:
        context = session.scalars(select(Context).where(Context.id == request.context_id)).first()
        if context is None:
            raise invalid("context_unknown", "context_id")
        return context
    if request.context is not None:
        context = session.scalars(
            select(Context).where(
                Context.kind == request.context.kind,
                Context.external_id == request.context.external_id,
            )
        ).first()
        if context is None:
            raise invalid("context_unknown", "context")
        return context
    return None


def _attachments(request: SendRequest) -> list[tuple[AttachmentIn, bytes]]:
    decoded, total = [], 0
    for index, item in enumerate(request.attachments):
        try:
            data = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise invalid("attachment_invalid", f"attachments[{index}].content_base64") from exc
        total += len(data)
        decoded.append((item, data))
    if total > MAX_ATTACHMENTS_BYTES:
        raise invalid("attachments_too_large", "attachments", max_mb=MAX_ATTACHMENTS_BYTES >> 20)
    return decoded


def _apply_overrides(tenant: TenantInfo, recipient: Recipient, request: SendRequest) -> Recipient:
    overrides = request.overrides
    if overrides is None:
        return recipient
    emails, phones = recipient.emails, recipient.phones
    if overrides.email:
        address = normalise_email(overrides.email, "overrides.email")
        blocked = next((e.blocked_reason for e in emails if e.address == address), None)
        emails = (eligibility.EmailFacts(address, blocked),)
    if overrides.phone:
        phone = parse_phone(overrides.phone, tenant.phone_region, "overrides.phone")
        phones = (eligibility.PhoneFacts(phone.e164, phone.sms_capable),)
    return Recipient(
        emails=emails,
        phones=phones,
        email_allowed=recipient.email_allowed,
        sms_info_allowed=recipient.sms_info_allowed,
        portal_active=recipient.portal_active,
        marketing_consent=recipient.marketing_consent,
        is_client=recipient.is_client,
    )


def _verdicts(
    tenant: TenantInfo, session: Session, request: SendRequest, sms_sender: str
) -> tuple[Recipient, list[Allowed], list[Refused], SmsPlan | None]:
    recipient = _apply_overrides(
        tenant, recipient_facts(session, tenant, request.recipient), request
    )
    chosen = [str(c) for c in request.channels]
    options = sms_options(session, tenant.id) if Channel.SMS in chosen else SmsOptions()
    facts = Facts(marketing=request.marketing, sms_enabled=options.enabled)
    verdicts = eligibility.check_all(chosen, recipient, facts)
    sms_plan = None
    for index, verdict in enumerate(verdicts):
        if isinstance(verdict, Allowed) and verdict.channel == Channel.SMS:
            sms_plan, balance = sms_compose.plan(
                session, tenant.id, request.recipient.client_id, verdict.address,
                request.text, options, sms_sender,
            )  # fmt: skip
            # The same rule with the real price: enough money for this SMS, or refused.
            priced = replace(facts, balance_minor=balance, sms_cost_minor=sms_plan.cost_minor)
            verdicts[index] = eligibility.check(Channel.SMS, recipient, priced)
            if isinstance(verdicts[index], Refused):
                verdicts[index] = Refused(
                    Channel.SMS, "insufficient_balance",
                    {"balance": str(balance), "cost": str(sms_plan.cost_minor)},
                )  # fmt: skip
                sms_plan = None
    refused = [v for v in verdicts if isinstance(v, Refused)]
    allowed = [v for v in verdicts if isinstance(v, Allowed)]
    if refused and (not request.skip_unavailable or not allowed):
        raise ValidationFailed(
            Problem(r.code, f"channels.{r.channel}", {"channel": r.channel, **r.params})
            for r in refused
        )
    return recipient, allowed, refused, sms_plan


def _thread(
    session: Session, tenant: TenantInfo, client_id: uuid.UUID | None, context: Context | None,
    subject: str | None,
) -> tuple[Thread, bool]:  # fmt: skip
    """The thread of (client, context): one per order, whoever started it (seed 001)."""
    key = None
    if client_id is not None or context is not None:
        key = f"{client_id or '-'}/{context.id if context else '-'}"
        found = session.scalars(select(Thread).where(Thread.key == key)).first()
        if found is not None:
            return found, False
    if subject is None and context is not None and context.number:
        subject = context.number
    thread = Thread(
        id=new_id(),
        key=key,
        tenant_id=tenant.id,
        client_id=client_id,
        context_id=context.id if context else None,
        subject=subject,
        reply_token=secrets.token_hex(8),
    )
    return thread, True  # new: written with the message (see send_message)


def _threading_headers(session: Session, thread: Thread) -> tuple[str | None, str | None]:
    """In-Reply-To and References of a follow-up: the thread's latest email."""
    parent = session.execute(
        select(Message.email_message_id, Message.email_references)
        .where(Message.thread_id == thread.id, Message.email_message_id.is_not(None))
        .order_by(Message.created_at.desc())
        .limit(1)
    ).first()
    if parent is None or parent.email_message_id is None:
        return None, None
    references = [*(parent.email_references or "").split(), parent.email_message_id][-20:]
    return parent.email_message_id, " ".join(references)


def _queue(tenant: TenantInfo, message: Message, channel: str, to: str,
           purpose: str = "message") -> tuple[Delivery, DeliveryEvent]:  # fmt: skip
    now = utcnow()
    delivery = Delivery(
        id=new_id(),
        tenant_id=tenant.id,
        message_id=message.id,
        channel=channel,
        recipient=to,
        purpose=purpose,
        status=DeliveryStatus.QUEUED,
        next_attempt_at=now,
    )
    event = DeliveryEvent(
        id=new_id(),
        tenant_id=tenant.id,
        delivery_id=delivery.id,
        status=DeliveryStatus.QUEUED,
        attempt=0,
        created_at=now,
    )
    return delivery, event


def _existing(session: Session, key: str, digest: str) -> Message | None:
    found = session.scalars(select(Message).where(Message.idempotency_key == key)).first()
    if found is not None and found.request_hash != digest:
        raise invalid("idempotency_key_reused", "Idempotency-Key")
    return found


class _Raced(Exception):
    """A concurrent first message about the same (client, context) made the thread first."""


def send_message(
    uow: UnitOfWork,
    tenant: TenantInfo,
    request: SendRequest,
    mail_domain: str,
    idempotency_key: str | None = None,
    sms_sender: str = "KANAL",
) -> tuple[MessageView, bool]:
    """Check, then record the message and its deliveries; workers deliver after commit.

    Returns the message and whether it is new (False: an Idempotency-Key replay).
    ``sms_sender`` is the service's sender for tenants with no pool number or name.
    """
    try:
        return _send(uow, tenant, request, mail_domain, idempotency_key, sms_sender)
    except _Raced:  # joins the thread (or the client's number) the other request made
        return _send(uow, tenant, request, mail_domain, idempotency_key, sms_sender)


def _send(
    uow: UnitOfWork,
    tenant: TenantInfo,
    request: SendRequest,
    mail_domain: str,
    idempotency_key: str | None,
    sms_sender: str,
) -> tuple[MessageView, bool]:
    digest = request_hash(request)
    with uow:
        session = uow.session
        if idempotency_key and (same := _existing(session, idempotency_key, digest)):
            return message_view(session, same), False
        recipient, allowed, skipped, sms_plan = _verdicts(tenant, session, request, sms_sender)
        context = _context(session, request)
        files = _attachments(request)
        if request.author_employee_id is not None:
            get_or_404(session, Employee, request.author_employee_id, "employee")
        client_id = request.recipient.client_id
        thread, new_thread = _thread(session, tenant, client_id, context, request.subject)
        message_id = new_id()
        emails = any(v.channel == Channel.EMAIL for v in allowed) or _notice_by_email(allowed)
        in_reply_to, references = (
            (None, None) if new_thread or not emails else _threading_headers(session, thread)
        )
        message = Message(
            id=message_id,
            tenant_id=tenant.id,
            thread_id=thread.id,
            direction=Direction.OUTBOUND,
            author_employee_id=request.author_employee_id,
            subject=request.subject or thread.subject,
            body_text=request.text,
            body_html=request.html,
            automatic=request.automatic,
            marketing=request.marketing,
            idempotency_key=idempotency_key,
            request_hash=digest,
            meta=_recipient_meta(request, tenant, skipped),
            # Only mail carries a Message-ID, so follow-ups never point at one nobody received.
            email_message_id=f"<{message_id}@{mail_domain}>" if emails else None,
            email_in_reply_to=in_reply_to,
            email_references=references,
            created_at=utcnow(),
        )
        attachments = [
            MessageAttachment(
                id=new_id(),
                tenant_id=tenant.id,
                message_id=message_id,
                filename=item.filename,
                content_type=item.content_type,
                size=len(data),
                data=data,
            )
            for item, data in files
        ]
        queued = [_queue(tenant, message, v.channel, v.address) for v in allowed]
        queued += _portal_notice(tenant, message, recipient, allowed)
        thread.last_message_at = message.created_at
        if sms_plan is not None and not sms_plan.replyable:
            thread.replyable = False  # a sender name cannot be answered (seed 000)
        holds = _apply_sms_plan(tenant, queued, sms_plan)
        assignment = sms_plan.new_assignment if sms_plan else None
        try:
            if not new_thread:
                session.flush()  # the thread's new last_message_at
            insert_rows(
                session,
                [
                    *([thread] if new_thread else []),
                    message,
                    *attachments,
                    *(delivery for delivery, _ in queued),
                    *(event for _, event in queued),
                    *([assignment] if assignment else []),
                ],
            )
            wallet.reserve(session, tenant.id, holds)
            notify_outbox(session)
            uow.commit()  # one transaction: thread, message, deliveries, their first events
        except IntegrityError:
            # A concurrent request with the same Idempotency-Key won: answer with its message.
            uow.rollback()
            if idempotency_key and (same := _existing(session, idempotency_key, digest)):
                return message_view(session, same), False
            if new_thread or assignment is not None:
                raise _Raced() from None
            raise
        return new_message_view(thread, message, attachments, queued), True


def _apply_sms_plan(
    tenant: TenantInfo, queued: list[tuple[Delivery, DeliveryEvent]], sms_plan: SmsPlan | None
) -> list[wallet.Hold]:
    """Put the planned text, sender, size and price on the SMS delivery; its wallet hold."""
    holds = []
    for delivery, _ in queued:
        if delivery.channel == Channel.SMS and sms_plan is not None:
            delivery.body = sms_plan.text
            delivery.sender = sms_plan.sender
            delivery.segments = sms_plan.segments
            delivery.encoding = sms_plan.encoding
            delivery.cost_minor = sms_plan.cost_minor
            holds.append(wallet.Hold(tenant.id, delivery.id, sms_plan.cost_minor))
    return holds


def _notice_by_email(allowed: list[Allowed]) -> bool:
    channels = {v.channel for v in allowed}
    return Channel.PORTAL in channels and Channel.EMAIL not in channels


def _portal_notice(
    tenant: TenantInfo, message: Message, recipient: Recipient, allowed: list[Allowed]
) -> list[tuple[Delivery, DeliveryEvent]]:
    """A portal message is announced on another channel the client can receive (seed 001)."""
    channels = {v.channel for v in allowed}
    if Channel.PORTAL not in channels or Channel.EMAIL in channels:
        return []
    notice = eligibility.check(Channel.EMAIL, recipient, Facts())
    if not isinstance(notice, Allowed):
        return []
    return [_queue(tenant, message, Channel.EMAIL, notice.address, "portal_notice")]


def _recipient_meta(
    request: SendRequest, tenant: TenantInfo, skipped: list[Refused]
) -> dict[str, Any]:
    recipient = request.recipient
    meta: dict[str, Any] = {}
    if skipped:  # skip_unavailable: say which channels were left out, and why
        meta["skipped"] = [
            {
                "channel": r.channel,
                "code": r.code,
                "message": translate(r.code, tenant.locale, {"channel": r.channel, **r.params}),
            }
            for r in skipped
        ]
    if recipient.employee_id:
        meta["employee_id"] = str(recipient.employee_id)
    if recipient.name:
        meta["recipient_name"] = recipient.name
    return meta
