"""The outbox: workers claim due deliveries with a lease and record what happened.

Claiming is fair across tenants: each claim takes an equal share from every tenant
with due work (in a rotating order), so one tenant's 50,000-message send cannot
starve another tenant's single message. On PostgreSQL the rows are locked with
``FOR UPDATE SKIP LOCKED``, so any number of workers claim disjoint batches.
"""

import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import Session

from kanal.channels.base import DeliveryResult, Failed, RetryLater, Sent
from kanal.core.backoff import retry_delay
from kanal.core.vocab import DeliveryStatus
from kanal.services.webhooks import queue_status_event
from kanal.store.messaging import CapturedMail, Delivery, DeliveryEvent, PortalMessage
from kanal.store.models import Tenant
from kanal.store.orm import utcnow
from kanal.store.uow import UnitOfWorkFactory


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 5.0
    cap_seconds: float = 3600.0


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker now holds: its id and the attempt number that fences it."""

    delivery_id: uuid.UUID
    tenant_id: uuid.UUID
    attempt: int
    channel: str


@dataclass(frozen=True)
class Outcome:
    """What the worker did with a claimed delivery; ``capture`` holds dev-outbox mail."""

    claimed: Claimed
    result: DeliveryResult
    capture: CapturedMail | None = None
    portal_client_id: uuid.UUID | None = None
    message_id: uuid.UUID | None = None


def reclaim_expired(session: Session, now: datetime) -> int:
    """Deliveries whose worker died (lease expired while sending) become due again."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.lease_until < now)
        .values(status=DeliveryStatus.QUEUED, lease_until=None, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _due(now: datetime) -> list[object]:
    return [Delivery.status == DeliveryStatus.QUEUED, Delivery.next_attempt_at <= now]


def _tenants_with_due_work(session: Session, now: datetime) -> list[uuid.UUID]:
    tenant_ids = list(
        session.scalars(
            select(Tenant.id).where(
                exists().where(Delivery.tenant_id == Tenant.id, *_due(now))  # type: ignore[arg-type]
            )
        )
    )
    random.shuffle(tenant_ids)  # a rotating start: nobody is always first
    return tenant_ids


def claim(
    session: Session, worker_id: str, limit: int, lease_seconds: float
) -> tuple[list[Claimed], int]:
    """Take up to ``limit`` due deliveries, an equal share per tenant; return them and reclaims."""
    now = utcnow()
    reclaimed = reclaim_expired(session, now)
    tenants = _tenants_with_due_work(session, now)
    if not tenants:
        return [], reclaimed
    share = max(1, math.ceil(limit / len(tenants)))
    rows: list[Delivery] = []
    for tenant_id in tenants[:limit]:
        rows += session.scalars(
            select(Delivery)
            .where(Delivery.tenant_id == tenant_id, *_due(now))  # type: ignore[arg-type]
            .order_by(Delivery.next_attempt_at)
            .limit(share)
            .with_for_update(skip_locked=True)
        )
    lease_until = now + timedelta(seconds=lease_seconds)
    claimed = []
    for row in rows:
        row.status = DeliveryStatus.SENDING
        row.attempts += 1
        row.lease_until = lease_until
        row.claimed_by = worker_id
        session.add(
            DeliveryEvent(
                tenant_id=row.tenant_id,
                delivery_id=row.id,
                status=DeliveryStatus.SENDING,
                attempt=row.attempts,
                reason=worker_id,
            )
        )
        claimed.append(Claimed(row.id, row.tenant_id, row.attempts, row.channel))
    return claimed, reclaimed


def release(session: Session, worker_id: str, claimed: Sequence[Claimed]) -> None:
    """Give back deliveries that were claimed but not attempted (graceful shutdown)."""
    for item in claimed:
        session.execute(
            update(Delivery)
            .where(
                Delivery.id == item.delivery_id,
                Delivery.status == DeliveryStatus.SENDING,
                Delivery.claimed_by == worker_id,
                Delivery.attempts == item.attempt,
            )
            .values(
                status=DeliveryStatus.QUEUED,
                attempts=Delivery.attempts - 1,
                lease_until=None,
                next_attempt_at=utcnow(),
            )
            .execution_options(synchronize_session=False)
        )


def record(
    session: Session, worker_id: str, outcomes: Sequence[Outcome], policy: RetryPolicy
) -> list[tuple[Outcome, str]]:
    """Write every outcome; return (outcome, new status) for those this worker still held."""
    if not outcomes:
        return []
    rows = {
        d.id: d
        for d in session.scalars(
            select(Delivery).where(Delivery.id.in_([o.claimed.delivery_id for o in outcomes]))
        )
    }
    now = utcnow()
    written = []
    for outcome in outcomes:
        row = rows.get(outcome.claimed.delivery_id)
        # Fencing: a late result of an attempt whose lease was reclaimed is not ours to write.
        if (
            row is None
            or row.status != DeliveryStatus.SENDING
            or row.attempts != outcome.claimed.attempt
            or row.claimed_by != worker_id
        ):
            continue
        status = _apply(session, row, outcome, policy, now)
        written.append((outcome, status))
    return written


def _apply(
    session: Session, row: Delivery, outcome: Outcome, policy: RetryPolicy, now: datetime
) -> str:
    result = outcome.result
    row.lease_until = None
    code = reason = None
    if isinstance(result, Sent):
        local = outcome.capture is not None or outcome.portal_client_id is not None
        # Stored locally (portal inbox, dev outbox) means it has arrived.
        row.status = DeliveryStatus.DELIVERED if local else DeliveryStatus.SENT
        row.provider_message_id = result.provider_message_id
        row.sent_at = now
        row.final_at = now if local else None
        row.error_code = row.error_message = None
        reason = result.detail
        if outcome.capture is not None:
            outcome.capture.delivery_id = row.id
            session.add(outcome.capture)
        if outcome.portal_client_id is not None and outcome.message_id is not None:
            session.add(
                PortalMessage(
                    tenant_id=row.tenant_id,
                    client_id=outcome.portal_client_id,
                    message_id=outcome.message_id,
                )
            )
    elif isinstance(result, RetryLater) and row.attempts < policy.max_attempts:
        row.status = DeliveryStatus.QUEUED
        delay = result.retry_after or retry_delay(
            row.attempts, base=policy.base_seconds, cap=policy.cap_seconds
        )
        row.next_attempt_at = now + timedelta(seconds=delay)
        row.error_code, row.error_message = result.code, result.reason
        code, reason = result.code, result.reason
    else:
        assert isinstance(result, Failed | RetryLater)
        row.status = DeliveryStatus.FAILED
        row.final_at = now
        exhausted = isinstance(result, RetryLater)
        row.error_code = ("retries_exhausted:" if exhausted else "") + result.code
        row.error_message = result.reason
        code, reason = row.error_code, result.reason
    session.add(
        DeliveryEvent(
            tenant_id=row.tenant_id,
            delivery_id=row.id,
            status=row.status,
            attempt=row.attempts,
            code=code,
            reason=reason,
        )
    )
    if row.status != DeliveryStatus.QUEUED:
        queue_status_event(session, row)
    return row.status


def queue_stats(uows: UnitOfWorkFactory) -> dict[str, float]:
    """Queue depth and the age of the oldest due delivery, for /metrics."""
    now = utcnow()
    with uows.system() as uow:
        depth, oldest = uow.session.execute(
            select(func.count(), func.min(Delivery.next_attempt_at)).where(*_due(now))  # type: ignore[arg-type]
        ).one()
        counts = dict(
            uow.session.execute(
                select(Delivery.status, func.count()).group_by(Delivery.status)
            ).all()
        )
    age = (now - oldest).total_seconds() if oldest else 0.0
    return {
        "depth": float(depth),
        "oldest_age": max(age, 0.0),
        **{f"status_{k}": float(v) for k, v in counts.items()},
    }
