"""A tenant's email identity: its mailbox name (renamable, old names kept) and own SMTP relay."""

import re
import secrets
import uuid
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanal.core.emails import normalise_email
from kanal.core.errors import invalid
from kanal.core.secretbox import SecretBox
from kanal.services.common import Schema, TenantInfo
from kanal.store.messaging import Mailbox, SmtpAccount
from kanal.store.uow import UnitOfWork

_LOCAL_PART = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{1,62}[a-z0-9])$")


def add_initial_mailbox(session: Session, tenant_id: uuid.UUID) -> None:
    """A random unique mailbox for a new tenant (seed 001: <prefix>@<mail domain>)."""
    session.add(
        Mailbox(tenant_id=tenant_id, local_part="k" + secrets.token_hex(5), is_current=True)
    )


class MailboxView(BaseModel):
    address: str
    local_part: str
    previous: list[str]


def _view(session: Session, tenant_id: uuid.UUID, domain: str) -> MailboxView:
    rows = session.scalars(
        select(Mailbox).where(Mailbox.tenant_id == tenant_id).order_by(Mailbox.created_at)
    ).all()
    current = next(r.local_part for r in rows if r.is_current)
    return MailboxView(
        address=f"{current}@{domain}",
        local_part=current,
        previous=[f"{r.local_part}@{domain}" for r in rows if not r.is_current],
    )


def get_mailbox(uow: UnitOfWork, tenant: TenantInfo, domain: str) -> MailboxView:
    with uow:
        return _view(uow.session, tenant.id, domain)


def rename_mailbox(
    uow: UnitOfWork, tenant: TenantInfo, local_part: str, domain: str
) -> MailboxView:
    """Rename the mailbox; the old names stay valid for replies (seed 001)."""
    wanted = local_part.strip().lower()
    if not _LOCAL_PART.match(wanted):
        raise invalid("mailbox_invalid", "local_part", value=local_part)
    with uow:
        session = uow.session
        # Mailboxes are not tenant-scoped rows (names are global), so this sees every tenant's.
        owner = session.scalars(select(Mailbox).where(Mailbox.local_part == wanted)).first()
        if owner is not None and owner.tenant_id != tenant.id:
            raise invalid("mailbox_taken", "local_part", value=wanted)
        for row in session.scalars(select(Mailbox).where(Mailbox.tenant_id == tenant.id)):
            row.is_current = row.local_part == wanted
        if owner is None:
            session.add(Mailbox(tenant_id=tenant.id, local_part=wanted, is_current=True))
        try:
            uow.commit()
        except IntegrityError as exc:  # taken by a concurrent rename
            raise invalid("mailbox_taken", "local_part", value=wanted) from exc
        return _view(session, tenant.id, domain)


class SmtpAccountIn(Schema):
    """A tenant's own relay (seed 004). The password is stored encrypted, never shown."""

    host: str = Field(min_length=1, max_length=255)
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, max_length=500)
    auth: Literal["PLAIN", "LOGIN", "CRAM-MD5", "NTLM", "NONE"] = "PLAIN"
    helo_name: str | None = Field(default=None, max_length=255, description="Served domain")
    return_path: str | None = Field(default=None, max_length=320)
    bcc: str | None = Field(default=None, max_length=320)


class SmtpAccountView(BaseModel):
    host: str
    port: int
    security: str
    username: str | None
    has_password: bool
    auth: str
    helo_name: str | None
    return_path: str | None
    bcc: str | None


def _smtp_view(row: SmtpAccount) -> SmtpAccountView:
    return SmtpAccountView(
        host=row.host,
        port=row.port,
        security=row.security,
        username=row.username,
        has_password=row.password_encrypted is not None,
        auth=row.auth,
        helo_name=row.helo_name,
        return_path=row.return_path,
        bcc=row.bcc,
    )


def set_smtp_account(
    uow: UnitOfWork, tenant: TenantInfo, data: SmtpAccountIn, box: SecretBox
) -> SmtpAccountView:
    if data.auth != "NONE" and not (data.username and data.password):
        raise invalid("smtp_credentials_required", "password")
    return_path = normalise_email(data.return_path, "return_path") if data.return_path else None
    bcc = normalise_email(data.bcc, "bcc") if data.bcc else None
    with uow:
        row = uow.session.scalars(select(SmtpAccount)).first() or SmtpAccount(tenant_id=tenant.id)
        row.host, row.port, row.security = data.host, data.port, data.security
        row.username, row.auth, row.helo_name = data.username, data.auth, data.helo_name
        row.password_encrypted = box.seal(data.password) if data.password else None
        row.return_path, row.bcc = return_path, bcc
        uow.session.add(row)
        uow.commit()
        return _smtp_view(row)


def get_smtp_account(uow: UnitOfWork) -> SmtpAccountView | None:
    with uow:
        row = uow.session.scalars(select(SmtpAccount)).first()
        return _smtp_view(row) if row else None


def delete_smtp_account(uow: UnitOfWork) -> None:
    with uow:
        for row in uow.session.scalars(select(SmtpAccount)):
            uow.session.delete(row)
        uow.commit()
