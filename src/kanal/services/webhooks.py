"""Webhooks to the host application: endpoints, and events queued with the change they tell."""

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kanal.channels.base import DeliveryResult, RetryLater, Sent
from kanal.core import webhooks as signing
from kanal.core.backoff import retry_delay
from kanal.services.common import Page, Schema, TenantInfo, get_or_404, paginate
from kanal.store.messaging import WebhookEndpoint, WebhookEvent
from kanal.store.orm import utcnow
from kanal.store.uow import UnitOfWork


class EndpointIn(Schema):
    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    description: str | None = Field(default=None, max_length=200)


class EndpointView(BaseModel):
    id: uuid.UUID
    url: str
    description: str | None
    active: bool
    secret: str
    created_at: datetime


class EventView(BaseModel):
    id: uuid.UUID
    event_type: str
    payload: dict[str, object]
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


def _endpoint_view(row: WebhookEndpoint) -> EndpointView:
    return EndpointView(
        id=row.id,
        url=row.url,
        description=row.description,
        active=row.active,
        secret=row.secret,
        created_at=row.created_at,
    )


def create_endpoint(uow: UnitOfWork, tenant: TenantInfo, data: EndpointIn) -> EndpointView:
    with uow:
        row = WebhookEndpoint(
            tenant_id=tenant.id,
            url=data.url,
            description=data.description,
            secret=signing.new_secret(),
        )
        uow.session.add(row)
        uow.commit()
        return _endpoint_view(row)


def list_endpoints(uow: UnitOfWork) -> list[EndpointView]:
    with uow:
        return [_endpoint_view(r) for r in uow.session.scalars(select(WebhookEndpoint))]


def delete_endpoint(uow: UnitOfWork, endpoint_id: uuid.UUID) -> None:
    with uow:
        uow.session.delete(get_or_404(uow.session, WebhookEndpoint, endpoint_id, "webhook"))
        uow.commit()


def list_events(
    uow: UnitOfWork, endpoint_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[EventView]:
    """The delivery log of one endpoint."""
    with uow:
        get_or_404(uow.session, WebhookEndpoint, endpoint_id, "webhook")
        stmt = select(WebhookEvent).where(WebhookEvent.endpoint_id == endpoint_id)
        rows, next_cursor = paginate(uow.session, stmt, WebhookEvent, cursor, limit)
        return Page[EventView](
            items=[
                EventView(
                    id=r.id,
                    event_type=r.event_type,
                    payload=r.payload,
                    status=r.status,
                    attempts=r.attempts,
                    next_attempt_at=r.next_attempt_at,
                    last_status_code=r.last_status_code,
                    last_error=r.last_error,
                    delivered_at=r.delivered_at,
                    created_at=r.created_at,
                )
                for r in rows
            ],
            next_cursor=next_cursor,
        )


def active_endpoints(
    session: Session, tenant_ids: set[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each tenant's active webhook endpoints, in one query for a whole batch."""
    found: dict[uuid.UUID, list[uuid.UUID]] = {}
    rows = session.execute(
        select(WebhookEndpoint.tenant_id, WebhookEndpoint.id).where(
            WebhookEndpoint.tenant_id.in_(tenant_ids), WebhookEndpoint.active
        )
    )
    for tenant_id, endpoint_id in rows:
        found.setdefault(tenant_id, []).append(endpoint_id)
    return found


def queue_status_event(
    session: Session,
    endpoints: list[uuid.UUID],
    *,
    tenant_id: uuid.UUID,
    delivery_id: uuid.UUID,
    message_id: uuid.UUID,
    channel: str,
    recipient: str,
    status: str,
    error_code: str | None,
) -> None:
    """One event per active endpoint, in the transaction that changed the status."""
    if not endpoints:
        return
    payload = {
        "type": "delivery.status",
        "delivery_id": str(delivery_id),
        "message_id": str(message_id),
        "channel": channel,
        "recipient": recipient,
        "status": status,
        "error_code": error_code,
        "at": utcnow().isoformat(),
    }
    for endpoint_id in endpoints:
        session.add(
            WebhookEvent(
                tenant_id=tenant_id,
                endpoint_id=endpoint_id,
                event_type="delivery.status",
                payload=payload,
                next_attempt_at=utcnow(),
            )
        )


@dataclass(frozen=True)
class EventJob:
    """A webhook event this worker holds, ready to post."""

    event_id: uuid.UUID
    attempt: int
    url: str
    body: bytes
    headers: dict[str, str]


def claim_events(
    session: Session, worker_id: str, limit: int, lease_seconds: float
) -> list[EventJob]:
    now = utcnow()
    session.execute(
        update(WebhookEvent)
        .where(WebhookEvent.status == "sending", WebhookEvent.lease_until < now)
        .values(status="pending", lease_until=None)
        .execution_options(synchronize_session=False)
    )
    rows = session.scalars(
        select(WebhookEvent)
        .where(WebhookEvent.status == "pending", WebhookEvent.next_attempt_at <= now)
        .order_by(WebhookEvent.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    endpoints = {
        e.id: e
        for e in session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.id.in_({r.endpoint_id for r in rows}))
        )
    }
    jobs = []
    timestamp = int(now.timestamp())
    for row in rows:
        endpoint = endpoints[row.endpoint_id]
        row.status, row.attempts = "sending", row.attempts + 1
        row.lease_until = now + timedelta(seconds=lease_seconds)
        body = json.dumps(row.payload, separators=(",", ":")).encode()
        # The event id stays the same across retries, so receivers can de-duplicate.
        headers = signing.headers(endpoint.secret, f"evt_{row.id.hex}", timestamp, body)
        jobs.append(EventJob(row.id, row.attempts, endpoint.url, body, headers))
    return jobs


def record_events(
    session: Session,
    results: Sequence[tuple[EventJob, DeliveryResult]],
    max_attempts: int,
    base_seconds: float,
    cap_seconds: float,
) -> None:
    now = utcnow()
    rows = {
        r.id: r
        for r in session.scalars(
            select(WebhookEvent).where(WebhookEvent.id.in_([job.event_id for job, _ in results]))
        )
    }
    for job, result in results:
        row = rows.get(job.event_id)
        if row is None or row.status != "sending" or row.attempts != job.attempt:
            continue
        row.lease_until = None
        if isinstance(result, Sent):
            row.status, row.delivered_at = "delivered", now
            row.last_status_code = _status_code(result.detail)
            row.last_error = None
            continue
        row.last_error = f"{result.code}: {result.reason}"[:2000]
        row.last_status_code = _status_code(result.code.removeprefix("http_"))
        if isinstance(result, RetryLater) and row.attempts < max_attempts:
            delay = result.retry_after or retry_delay(
                row.attempts, base=base_seconds, cap=cap_seconds
            )
            row.status, row.next_attempt_at = "pending", now + timedelta(seconds=delay)
        else:
            row.status = "failed"


def _status_code(text: str | None) -> int | None:
    head = (text or "").split(" ", 1)[0]
    return int(head) if head.isdigit() else None
