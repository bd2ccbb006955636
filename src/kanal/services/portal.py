"""The client's portal inbox (seed 001): messages stored for the client, read or unread."""

import uuid
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select

from kanal.core.errors import NotFound
from kanal.services.common import get_or_404
from kanal.store.messaging import Message, PortalMessage
from kanal.store.models import Client
from kanal.store.orm import utcnow
from kanal.store.uow import UnitOfWork


class PortalItem(BaseModel):
    message_id: uuid.UUID
    thread_id: uuid.UUID
    subject: str | None
    text: str
    received_at: datetime
    read: bool
    read_at: datetime | None


def _item(item: PortalMessage, message: Message) -> PortalItem:
    return PortalItem(
        message_id=message.id,
        thread_id=message.thread_id,
        subject=message.subject,
        text=message.body_text,
        received_at=item.created_at,
        read=item.read_at is not None,
        read_at=item.read_at,
    )


def inbox(uow: UnitOfWork, client_id: uuid.UUID, unread_only: bool = False) -> list[PortalItem]:
    with uow:
        get_or_404(uow.session, Client, client_id, "client")
        stmt = (
            select(PortalMessage, Message)
            .join(Message, Message.id == PortalMessage.message_id)
            .where(PortalMessage.client_id == client_id)
            .order_by(PortalMessage.created_at.desc())
        )
        if unread_only:
            stmt = stmt.where(PortalMessage.read_at.is_(None))
        return [_item(item, message) for item, message in uow.session.execute(stmt).all()]


def mark_read(uow: UnitOfWork, client_id: uuid.UUID, message_id: uuid.UUID) -> PortalItem:
    """The client opened it: remember when (the first time only)."""
    with uow:
        item = uow.session.scalars(
            select(PortalMessage).where(
                PortalMessage.client_id == client_id, PortalMessage.message_id == message_id
            )
        ).first()
        if item is None:
            raise NotFound(resource="portal message")
        item.read_at = item.read_at or utcnow()
        message = uow.session.get_one(Message, message_id)
        uow.commit()
        return _item(item, message)
