"""The dev outbox: mail captured instead of sent when no relay is configured (like Mailpit)."""

import uuid
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from pydantic import BaseModel
from sqlalchemy import select

from kanal.core.errors import NotFound
from kanal.store.messaging import CapturedMail
from kanal.store.models import Tenant
from kanal.store.uow import UnitOfWorkFactory


class CapturedSummary(BaseModel):
    id: uuid.UUID
    tenant: str
    channel: str
    sender: str
    recipients: str
    subject: str | None
    created_at: datetime


class CapturedDetail(CapturedSummary):
    headers: list[tuple[str, str]]
    text: str | None
    html: str | None
    attachments: list[str]
    raw: bytes


def list_captured(uows: UnitOfWorkFactory, limit: int = 200) -> list[CapturedSummary]:
    with uows.system() as uow:
        rows = uow.session.execute(
            select(CapturedMail, Tenant.name)
            .join(Tenant, Tenant.id == CapturedMail.tenant_id)
            .order_by(CapturedMail.created_at.desc())
            .limit(limit)
        ).all()
        return [_summary(row, name) for row, name in rows]


def _summary(row: CapturedMail, tenant: str) -> CapturedSummary:
    return CapturedSummary(
        id=row.id,
        tenant=tenant,
        channel=row.channel,
        sender=row.sender,
        recipients=row.recipients,
        subject=row.subject,
        created_at=row.created_at,
    )


def get_captured(uows: UnitOfWorkFactory, captured_id: uuid.UUID) -> CapturedDetail:
    with uows.system() as uow:
        found = uow.session.execute(
            select(CapturedMail, Tenant.name)
            .join(Tenant, Tenant.id == CapturedMail.tenant_id)
            .where(CapturedMail.id == captured_id)
        ).first()
        if found is None:
            raise NotFound(resource="captured mail")
        row, tenant = found
        parsed = message_from_bytes(row.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        text = parsed.get_body(("plain",))
        html = parsed.get_body(("html",))
        return CapturedDetail(
            **_summary(row, tenant).model_dump(),
            headers=[(k, str(v)) for k, v in parsed.items()],
            text=text.get_content() if text is not None else None,
            html=html.get_content() if html is not None else None,
            attachments=[part.get_filename() or "?" for part in parsed.iter_attachments()],
            raw=row.raw,
        )
