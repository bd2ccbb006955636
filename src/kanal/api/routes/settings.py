"""The account's email identity and webhooks."""

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from kanal.api.deps import Tenant, Uow
from kanal.api.routes.directory import Cursor, Limit
from kanal.services import mailboxes, webhooks
from kanal.services.common import Page

router = APIRouter(prefix="/v1", tags=["settings"])


class MailboxRename(BaseModel):
    local_part: str = Field(min_length=1, max_length=64)


@router.get("/tenant/mailbox", response_model=mailboxes.MailboxView)
def get_mailbox(request: Request, tenant: Tenant, uow: Uow) -> Any:
    """The address mail is sent from; replies to it and to old names come back."""
    return mailboxes.get_mailbox(uow, tenant, request.app.state.container.settings.mail_domain)


@router.put("/tenant/mailbox", response_model=mailboxes.MailboxView)
def rename_mailbox(request: Request, body: MailboxRename, tenant: Tenant, uow: Uow) -> Any:
    domain = request.app.state.container.settings.mail_domain
    return mailboxes.rename_mailbox(uow, tenant, body.local_part, domain)


@router.get("/tenant/smtp", response_model=mailboxes.SmtpAccountView | None)
def get_smtp(uow: Uow) -> Any:
    return mailboxes.get_smtp_account(uow)


@router.put("/tenant/smtp", response_model=mailboxes.SmtpAccountView)
def set_smtp(request: Request, body: mailboxes.SmtpAccountIn, tenant: Tenant, uow: Uow) -> Any:
    """Send this account's email through its own SMTP server (seed 004)."""
    return mailboxes.set_smtp_account(uow, tenant, body, request.app.state.container.secrets)


@router.delete("/tenant/smtp", status_code=204)
def delete_smtp(uow: Uow) -> Response:
    mailboxes.delete_smtp_account(uow)
    return Response(status_code=204)


@router.post("/webhooks", status_code=201, response_model=webhooks.EndpointView, tags=["webhooks"])
def create_webhook(body: webhooks.EndpointIn, tenant: Tenant, uow: Uow) -> Any:
    """Delivery status changes are POSTed here, signed as Standard Webhooks says."""
    return webhooks.create_endpoint(uow, tenant, body)


@router.get("/webhooks", response_model=list[webhooks.EndpointView], tags=["webhooks"])
def list_webhooks(uow: Uow) -> Any:
    return webhooks.list_endpoints(uow)


@router.delete("/webhooks/{endpoint_id}", status_code=204, tags=["webhooks"])
def delete_webhook(endpoint_id: uuid.UUID, uow: Uow) -> Response:
    webhooks.delete_endpoint(uow, endpoint_id)
    return Response(status_code=204)


@router.get(
    "/webhooks/{endpoint_id}/events", response_model=Page[webhooks.EventView], tags=["webhooks"]
)
def webhook_log(endpoint_id: uuid.UUID, uow: Uow, cursor: Cursor = None, limit: Limit = 50) -> Any:
    """The delivery log: every event, its attempts and the last answer."""
    return webhooks.list_events(uow, endpoint_id, cursor, limit)
