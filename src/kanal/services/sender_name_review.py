"""The service staff's side of sender names: the queue of requests, decisions, files.

Staff are not a tenant: each call finds the request's tenant first (a read across
tenants), then reads or decides inside that tenant's unit of work. The rules of the
workflow are in :mod:`kanal.services.sender_names`.
"""

import uuid

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kanal.core.errors import NotFound, Problem, ValidationFailed, invalid
from kanal.services.common import Page, Schema, get_or_404, paginate
from kanal.services.sender_names import (
    APPROVED,
    REJECTED,
    REQUESTED,
    RESOURCE,
    SUBMITTED,
    DocumentFile,
    SenderNameView,
    Status,
    document_views,
    find_document,
    to_view,
    view_of,
)
from kanal.store.models import Tenant
from kanal.store.orm import utcnow
from kanal.store.sms import SenderName
from kanal.store.uow import UnitOfWorkFactory


class StaffSenderNameView(SenderNameView):
    tenant_id: uuid.UUID
    tenant_name: str


class ApproveIn(Schema):
    by: str | None = Field(default=None, max_length=100)


class RejectIn(Schema):
    reason: str = Field(min_length=1, max_length=2000)
    by: str | None = Field(default=None, max_length=100)


def _tenant_of(uows: UnitOfWorkFactory, sender_name_id: uuid.UUID) -> uuid.UUID:
    with uows.system() as uow:
        tenant_id = uow.session.scalars(
            select(SenderName.tenant_id).where(SenderName.id == sender_name_id)
        ).one_or_none()
    if tenant_id is None:
        raise NotFound(resource=RESOURCE)
    return tenant_id


def _staff_view(session: Session, row: SenderName) -> StaffSenderNameView:
    tenant_name = session.scalars(select(Tenant.name).where(Tenant.id == row.tenant_id)).one()
    return StaffSenderNameView(
        **view_of(session, row).model_dump(), tenant_id=row.tenant_id, tenant_name=tenant_name
    )


def staff_list(
    uows: UnitOfWorkFactory,
    status: Status | None = None,
    tenant_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page[StaffSenderNameView]:
    """Requests of every tenant, oldest first: the staff's queue (``status="submitted"``)."""
    with uows.system() as uow:  # read-only, across tenants
        session = uow.session
        stmt = select(SenderName)
        if status is not None:
            stmt = stmt.where(SenderName.status == status)
        if tenant_id is not None:
            stmt = stmt.where(SenderName.tenant_id == tenant_id)
        rows, next_cursor = paginate(session, stmt, SenderName, cursor, limit)
        documents = document_views(session, [r.id for r in rows])
        tenants = select(Tenant.id, Tenant.name).where(Tenant.id.in_({r.tenant_id for r in rows}))
        names = {tenant_id: name for tenant_id, name in session.execute(tenants)}
        items = [
            StaffSenderNameView(
                **to_view(r, documents[r.id]).model_dump(),
                tenant_id=r.tenant_id,
                tenant_name=names[r.tenant_id],
            )
            for r in rows
        ]
        return Page(items=items, next_cursor=next_cursor)


def staff_get(uows: UnitOfWorkFactory, sender_name_id: uuid.UUID) -> StaffSenderNameView:
    with uows.for_tenant(_tenant_of(uows, sender_name_id)) as uow:
        row = get_or_404(uow.session, SenderName, sender_name_id, RESOURCE)
        return _staff_view(uow.session, row)


def staff_document(
    uows: UnitOfWorkFactory, sender_name_id: uuid.UUID, document_id: uuid.UUID
) -> DocumentFile:
    with uows.for_tenant(_tenant_of(uows, sender_name_id)) as uow:
        return find_document(uow.session, sender_name_id, document_id)


def _decide(
    uows: UnitOfWorkFactory,
    sender_name_id: uuid.UUID,
    allowed: tuple[str, ...],
    status: str,
    by: str | None,
    reason: str | None = None,
) -> StaffSenderNameView:
    with uows.for_tenant(_tenant_of(uows, sender_name_id)) as uow:
        session = uow.session
        row = session.scalars(
            select(SenderName).where(SenderName.id == sender_name_id).with_for_update()
        ).one_or_none()
        if row is None:
            raise NotFound(resource=RESOURCE)
        if row.status not in allowed:
            code = "sender_name_not_submitted" if status == APPROVED else "sender_name_decided"
            raise ValidationFailed([Problem(code, "status", {"status": row.status})])
        row.status, row.decided_at, row.decided_by = status, utcnow(), by or "operator"
        row.rejection_reason = reason
        view = _staff_view(session, row)
        uow.commit()
        return view


def approve(
    uows: UnitOfWorkFactory, sender_name_id: uuid.UUID, by: str | None = None
) -> StaffSenderNameView:
    """Approve a submitted request (a request still missing documents cannot be)."""
    return _decide(uows, sender_name_id, (SUBMITTED,), APPROVED, by)


def reject(
    uows: UnitOfWorkFactory, sender_name_id: uuid.UUID, reason: str, by: str | None = None
) -> StaffSenderNameView:
    """Reject an undecided request with a reason the tenant sees; it may ask again."""
    if not reason.strip():
        raise invalid("required", "reason")
    return _decide(uows, sender_name_id, (REQUESTED, SUBMITTED), REJECTED, by, reason.strip())
