"""The dev outbox: mail captured instead of sent when no relay is configured (like Mailpit),
and SMS captured by the "dev" gateway (its raw is the text, UTF-8)."""

import uuid
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from pydantic import BaseModel
from sqlalchemy import select

from kanal.core.errors import NotFound
from kanal.store.messaging import CapturedMail, Delivery
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
    # SMS: the text, and its size and encoding as priced at queue time
    text: str | None = None
    segments: int | None = None
    encoding: str | None = None

    @property
    def is_sms(self) -> bool:
        return self.channel == "sms"


class CapturedDetail(CapturedSummary):
    headers: list[tuple[str, str]]
    text: str | None
    html: str | None
    attachments: list[str]
    raw: bytes


def list_captured(uows: UnitOfWorkFactory, limit: int = 200) -> list[CapturedSummary]:
    with uows.system() as uow:
        rows = uow.session.execute(
            select(CapturedMail, Tenant.name, Delivery.segments, Delivery.encoding)
            .join(Tenant, Tenant.id == CapturedMail.tenant_id)
            .outerjoin(Delivery, Delivery.id == CapturedMail.delivery_id)
            .order_by(CapturedMail.created_at.desc())
            .limit(limit)
        ).all()
        return [_summary(*row) for row in rows]


def _summary(
    row: CapturedMail, tenant: str, segments: int | None = None, encoding: str | None = None
) -> CapturedSummary:
    sms = row.channel == "sms"
    return CapturedSummary(
        id=row.id,
        tenant=tenant,
        channel=row.channel,
        sender=row.sender,
        recipients=row.recipients,
        subject=row.subject,
        created_at=row.created_at,
        text=row.raw.decode("utf-8", "replace") if sms else None,
        segments=segments if sms else None,
        encoding=encoding if sms else None,
    )


def get_captured(uows: UnitOfWorkFactory, captured_id: uuid.UUID) -> CapturedDetail:
    with uows.system() as uow:
        found = uow.session.execute(
            select(CapturedMail, Tenant.name, Delivery.segments, Delivery.encoding)
            .join(Tenant, Tenant.id == CapturedMail.tenant_id)
            .outerjoin(Delivery, Delivery.id == CapturedMail.delivery_id)
            .where(CapturedMail.id == captured_id)
        ).first()
        if found is None:
            raise NotFound(resource="captured mail")
        row, tenant, segments, encoding = found
        summary = _summary(row, tenant, segments, encoding)
        if summary.is_sms:  # the text itself, not a MIME message
            return CapturedDetail(
                **summary.model_dump(exclude={"text"}),
                headers=[], text=summary.text, html=None, attachments=[], raw=row.raw,
            )  # fmt: skip
        parsed = message_from_bytes(row.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        text = parsed.get_body(("plain",))
        html = parsed.get_body(("html",))
        return CapturedDetail(
            **summary.model_dump(exclude={"text"}),
            headers=[(k, str(v)) for k, v in parsed.items()],
            text=text.get_content() if text is not None else None,
            html=html.get_content() if html is not None else None,
            attachments=[part.get_filename() or "?" for part in parsed.iter_attachments()],
            raw=row.raw,
        )
