"""Compose and follow messages: /v1/messages, threads, a client's channels and portal inbox."""

import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response

from kanal.api.deps import Tenant, Uow
from kanal.api.routes.directory import Cursor, Limit
from kanal.services import messages, portal, recipients, send
from kanal.services.common import Page

log = logging.getLogger("kanal.api")
router = APIRouter(prefix="/v1", tags=["messages"])


@router.post("/messages", status_code=201, response_model=messages.MessageView)
def post_message(
    request: Request,
    body: send.SendRequest,
    tenant: Tenant,
    uow: Uow,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> Any:
    """Send one message on several channels; every channel is checked before anything is queued.

    With the same `Idempotency-Key` and body, the first message is returned again (200).
    """
    container = request.app.state.container
    settings = container.settings
    view, created = send.send_message(
        uow, tenant, body, settings.mail_domain, idempotency_key, settings.sms_default_sender
    )
    if created:
        container.wake_workers()
        log.info(
            "message %s queued on %s",
            view.id,
            ", ".join(d.channel for d in view.deliveries),
            extra={"tenant_id": tenant.id, "message_id": view.id},
        )
    else:
        response.status_code = 200
    return view


@router.get("/messages/{message_id}", response_model=messages.MessageView)
def get_message(message_id: uuid.UUID, uow: Uow) -> Any:
    """A message with its deliveries and each delivery's history."""
    return messages.get_message(uow, message_id)


@router.get("/threads", response_model=Page[messages.ThreadView], tags=["threads"])
def list_threads(
    uow: Uow,
    client_id: uuid.UUID | None = None,
    context_id: uuid.UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    return messages.list_threads(uow, cursor, limit, client_id, context_id)


@router.get("/threads/{thread_id}", response_model=messages.ThreadView, tags=["threads"])
def get_thread(thread_id: uuid.UUID, uow: Uow) -> Any:
    return messages.get_thread(uow, thread_id)


@router.get(
    "/contexts/{context_id}/threads", response_model=Page[messages.ThreadView], tags=["contexts"]
)
def context_threads(
    context_id: uuid.UUID, uow: Uow, cursor: Cursor = None, limit: Limit = 50
) -> Any:
    """The order's (or ticket's) messages tab."""
    return messages.context_threads(uow, context_id, cursor, limit)


@router.get(
    "/clients/{client_id}/channels",
    response_model=list[recipients.ChannelStatus],
    tags=["clients"],
)
def client_channels(client_id: uuid.UUID, tenant: Tenant, uow: Uow) -> Any:
    """Which channels can reach this client now, and why not the others."""
    return recipients.client_channels(uow, tenant, client_id)


@router.get(
    "/clients/{client_id}/portal/messages",
    response_model=list[portal.PortalItem],
    tags=["portal"],
)
def portal_inbox(client_id: uuid.UUID, uow: Uow, unread: bool = False) -> Any:
    return portal.inbox(uow, client_id, unread)


@router.post(
    "/clients/{client_id}/portal/messages/{message_id}/read",
    response_model=portal.PortalItem,
    tags=["portal"],
)
def portal_read(client_id: uuid.UUID, message_id: uuid.UUID, uow: Uow) -> Any:
    return portal.mark_read(uow, client_id, message_id)
