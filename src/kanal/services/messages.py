"""Reading messages and threads back: status per channel, with every transition."""

import uuid
from collections import defaultdict
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from kanal.services.common import Page, get_or_404, paginate
from kanal.store.messaging import Delivery, DeliveryEvent, Message, MessageAttachment, Thread
from kanal.store.models import Client, Context
from kanal.store.uow import UnitOfWork


class DeliveryEventView(BaseModel):
    status: str
    at: datetime
    attempt: int
    code: str | None
    reason: str | None


class DeliveryView(BaseModel):
    id: uuid.UUID
    channel: str
    recipient: str
    purpose: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    provider_message_id: str | None
    error_code: str | None
    error_message: str | None
    sent_at: datetime | None
    final_at: datetime | None
    # SMS: from whom, how many parts in which encoding, and what it costs (minor units)
    sender: str | None = None
    segments: int | None = None
    encoding: str | None = None
    cost_minor: int | None = None
    history: list[DeliveryEventView]


class AttachmentView(BaseModel):
    filename: str
    content_type: str
    size: int


class SkippedChannel(BaseModel):
    channel: str
    code: str
    message: str


class MessageView(BaseModel):
    id: uuid.UUID
    thread_id: uuid.UUID
    client_id: uuid.UUID | None
    context_id: uuid.UUID | None
    direction: str
    subject: str | None
    text: str
    html: str | None
    automatic: bool
    marketing: bool
    email_message_id: str | None
    attachments: list[AttachmentView]
    deliveries: list[DeliveryView]
    skipped: list[SkippedChannel] = []
    thread_replyable: bool = True  # False once an SMS went from a sender name
    created_at: datetime


class ThreadView(BaseModel):
    id: uuid.UUID
    client_id: uuid.UUID | None
    context_id: uuid.UUID | None
    subject: str | None
    replyable: bool
    last_message_at: datetime | None
    messages: list[MessageView]


def _load(
    session: Session, messages: list[Message]
) -> tuple[dict[uuid.UUID, list[Delivery]], dict[uuid.UUID, list[DeliveryEvent]]]:
    deliveries: dict[uuid.UUID, list[Delivery]] = defaultdict(list)
    for d in session.scalars(
        select(Delivery)
        .where(Delivery.message_id.in_([m.id for m in messages]))
        .order_by(Delivery.created_at, Delivery.id)
    ):
        deliveries[d.message_id].append(d)
    events: dict[uuid.UUID, list[DeliveryEvent]] = defaultdict(list)
    delivery_ids = [d.id for ds in deliveries.values() for d in ds]
    for e in session.scalars(
        select(DeliveryEvent)
        .where(DeliveryEvent.delivery_id.in_(delivery_ids))
        .order_by(DeliveryEvent.created_at, DeliveryEvent.id)
    ):
        events[e.delivery_id].append(e)
    return deliveries, events


def _delivery_view(d: Delivery, events: list[DeliveryEvent]) -> DeliveryView:
    return DeliveryView(
        id=d.id,
        channel=d.channel,
        recipient=d.recipient,
        purpose=d.purpose,
        status=d.status,
        attempts=d.attempts,
        next_attempt_at=d.next_attempt_at,
        provider_message_id=d.provider_message_id,
        error_code=d.error_code,
        error_message=d.error_message,
        sent_at=d.sent_at,
        final_at=d.final_at,
        sender=d.sender,
        segments=d.segments,
        encoding=d.encoding,
        cost_minor=d.cost_minor,
        history=[
            DeliveryEventView(
                status=e.status, at=e.created_at, attempt=e.attempt, code=e.code, reason=e.reason
            )
            for e in events
        ],
    )


def _message_view(
    thread: Thread,
    m: Message,
    deliveries: list[Delivery],
    events: dict[uuid.UUID, list[DeliveryEvent]],
    attachments: list[MessageAttachment] | None = None,
) -> MessageView:
    return MessageView(
        id=m.id,
        thread_id=m.thread_id,
        client_id=thread.client_id,
        context_id=thread.context_id,
        direction=m.direction,
        subject=m.subject,
        text=m.body_text,
        html=m.body_html,
        automatic=m.automatic,
        marketing=m.marketing,
        email_message_id=m.email_message_id,
        attachments=[
            AttachmentView(filename=a.filename, content_type=a.content_type, size=a.size)
            for a in (m.attachments if attachments is None else attachments)
        ],
        deliveries=[_delivery_view(d, events.get(d.id, [])) for d in deliveries],
        skipped=[SkippedChannel(**item) for item in m.meta.get("skipped", [])],
        thread_replyable=thread.replyable,
        created_at=m.created_at,
    )


def _views(session: Session, thread: Thread, messages: list[Message]) -> list[MessageView]:
    deliveries, events = _load(session, messages)
    return [_message_view(thread, m, deliveries[m.id], events) for m in messages]


def new_message_view(
    thread: Thread,
    message: Message,
    attachments: list[MessageAttachment],
    queued: list[tuple[Delivery, DeliveryEvent]],
) -> MessageView:
    """The view of a message just written, from the rows in hand (no query)."""
    events = {d.id: [e] for d, e in queued}
    return _message_view(thread, message, [d for d, _ in queued], events, attachments)


def message_view(session: Session, message: Message) -> MessageView:
    thread = session.get_one(Thread, message.thread_id)
    return _views(session, thread, [message])[0]


def get_message(uow: UnitOfWork, message_id: uuid.UUID) -> MessageView:
    with uow:
        return message_view(uow.session, get_or_404(uow.session, Message, message_id, "message"))


def _thread_view(session: Session, thread: Thread) -> ThreadView:
    messages = list(
        session.scalars(
            select(Message).where(Message.thread_id == thread.id).order_by(Message.created_at)
        )
    )
    return ThreadView(
        id=thread.id,
        client_id=thread.client_id,
        context_id=thread.context_id,
        subject=thread.subject,
        replyable=thread.replyable,
        last_message_at=thread.last_message_at,
        messages=_views(session, thread, messages),
    )


def get_thread(uow: UnitOfWork, thread_id: uuid.UUID) -> ThreadView:
    with uow:
        return _thread_view(uow.session, get_or_404(uow.session, Thread, thread_id, "thread"))


def list_threads(
    uow: UnitOfWork,
    cursor: str | None,
    limit: int,
    client_id: uuid.UUID | None = None,
    context_id: uuid.UUID | None = None,
) -> Page[ThreadView]:
    with uow:
        # A filter naming another tenant's record is a 404, like the record itself.
        if client_id is not None:
            get_or_404(uow.session, Client, client_id, "client")
        if context_id is not None:
            get_or_404(uow.session, Context, context_id, "context")
        stmt = select(Thread)
        if client_id is not None:
            stmt = stmt.where(Thread.client_id == client_id)
        if context_id is not None:
            stmt = stmt.where(Thread.context_id == context_id)
        rows, next_cursor = paginate(uow.session, stmt, Thread, cursor, limit)
        return Page[ThreadView](
            items=[_thread_view(uow.session, t) for t in rows], next_cursor=next_cursor
        )


def context_threads(uow: UnitOfWork, context_id: uuid.UUID, cursor: str | None, limit: int
                    ) -> Page[ThreadView]:  # fmt: skip
    """The order's (or ticket's) tab: every thread about it (seed 001)."""
    with uow:
        get_or_404(uow.session, Context, context_id, "context")
    return list_threads(uow, cursor, limit, context_id=context_id)
