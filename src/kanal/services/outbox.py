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
from typing import Any

from sqlalchemy import Row, Table, exists, func, select, update
from sqlalchemy.orm import Session

from kanal.channels.base import DeliveryResult, Failed, RetryLater, Sent
from kanal.core.backoff import retry_delay
from kanal.core.ids import new_id
from kanal.core.vocab import Channel, DeliveryStatus
from kanal.services import delivery_reports, wallet
from kanal.services.webhooks import active_endpoints, queue_status_event
from kanal.store.messaging import CapturedMail, Delivery, DeliveryEvent, PortalMessage
from kanal.store.models import Tenant
from kanal.store.orm import utcnow
from kanal.store.uow import UnitOfWorkFactory

# Core inserts for the history rows: the worker writes one per claim and per result.
EVENTS: Table = DeliveryEvent.__table__  # type: ignore[assignment]


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
    gateway: str | None = None  # the SMS gateway that was tried (Delivery.gateway)


def reclaim_expired(session: Session, now: datetime, max_attempts: int = 8) -> int:
    """Deliveries whose worker died (lease expired while sending) become due again.

    One that has used all its attempts this way (it may be what kills the worker) fails.
    """
    rows = session.execute(
        select(Delivery.id, Delivery.tenant_id, Delivery.attempts, Delivery.cost_minor)
        .where(Delivery.status == DeliveryStatus.SENDING, Delivery.lease_until < now)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    updates, events, refunds = [], [], []
    for delivery_id, tenant_id, attempts, cost_minor in rows:
        exhausted = attempts >= max_attempts
        if exhausted and cost_minor:
            refunds.append(wallet.Hold(tenant_id, delivery_id, cost_minor))
        status = DeliveryStatus.FAILED if exhausted else DeliveryStatus.QUEUED
        code = "retries_exhausted:lease_expired" if exhausted else "lease_expired"
        update_values: dict[str, object] = {
            "id": delivery_id,
            "status": status,
            "lease_until": None,
            "next_attempt_at": now,
            "error_code": code,
            "updated_at": now,
        }
        if exhausted:
            update_values["final_at"] = now
        updates.append(update_values)
        events.append(
            _event(tenant_id, delivery_id, status, attempts, code, "worker lease expired", now)
        )
    for group in _by_keys(updates):
        session.execute(update(Delivery), group)
    session.execute(EVENTS.insert(), events)
    wallet.release(session, refunds)
    return len(rows)


def _event(
    tenant_id: uuid.UUID, delivery_id: uuid.UUID, status: str, attempt: int,
    code: str | None, reason: str | None, now: datetime,
) -> dict[str, object]:  # fmt: skip
    return {
        "id": new_id(),
        "tenant_id": tenant_id,
        "delivery_id": delivery_id,
        "status": status,
        "attempt": attempt,
        "code": code,
        "reason": reason,
        "created_at": now,
        "updated_at": now,
    }


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
    session: Session, worker_id: str, limit: int, lease_seconds: float, max_attempts: int = 8
) -> tuple[list[Claimed], int]:
    """Take up to ``limit`` due deliveries, an equal share per tenant; return them and reclaims."""
    now = utcnow()
    reclaimed = reclaim_expired(session, now, max_attempts)
    tenants = _tenants_with_due_work(session, now)
    if not tenants:
        return [], reclaimed
    share = max(1, math.ceil(limit / len(tenants)))
    rows: list[Row[Any]] = []
    for tenant_id in tenants[:limit]:
        rows += session.execute(
            select(Delivery.id, Delivery.tenant_id, Delivery.attempts, Delivery.channel)
            .where(Delivery.tenant_id == tenant_id, *_due(now))  # type: ignore[arg-type]
            .order_by(Delivery.next_attempt_at)
            .limit(share)
            .with_for_update(skip_locked=True)
        ).all()
    if not rows:
        return [], reclaimed
    # One UPDATE and one INSERT for the batch: per-row ORM flushes cost more than the sends.
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_([row.id for row in rows]))
        .values(
            status=DeliveryStatus.SENDING,
            attempts=Delivery.attempts + 1,
            lease_until=now + timedelta(seconds=lease_seconds),
            claimed_by=worker_id,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    claimed = [Claimed(r.id, r.tenant_id, r.attempts + 1, r.channel) for r in rows]
    session.execute(
        EVENTS.insert(),
        [_event(c.tenant_id, c.delivery_id, DeliveryStatus.SENDING, c.attempt, None, worker_id, now)
         for c in claimed],
    )  # fmt: skip
    return claimed, reclaimed


def renew(
    session: Session, worker_id: str, claimed: Sequence[Claimed], lease_seconds: float
) -> int:
    """Extend the leases this worker still holds (a heartbeat while a batch is in hand)."""
    if not claimed:
        return 0
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id.in_([c.delivery_id for c in claimed]),
            Delivery.status == DeliveryStatus.SENDING,
            Delivery.claimed_by == worker_id,
        )
        .values(lease_until=utcnow() + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def release(session: Session, worker_id: str, claimed: Sequence[Claimed]) -> None:
    """Give back deliveries that were claimed but not attempted (graceful shutdown)."""
    now = utcnow()
    for item in claimed:
        result = session.execute(
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
                next_attempt_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0):
            session.execute(
                EVENTS.insert(),
                [_event(item.tenant_id, item.delivery_id, DeliveryStatus.QUEUED,
                        item.attempt - 1, "released", worker_id, now)],
            )  # fmt: skip


def record(
    session: Session, worker_id: str, outcomes: Sequence[Outcome], policy: RetryPolicy
) -> list[tuple[Outcome, str]]:
    """Write every outcome; return (outcome, new status) for those this worker still held.

    Written with bulk statements (one UPDATE and one INSERT for the whole group): the
    per-row cost of the ORM would otherwise be most of a worker's time.
    """
    if not outcomes:
        return []
    # Fencing: a late result of an attempt whose lease was reclaimed is not ours to write.
    held = {
        row.id: row
        for row in session.execute(
            select(
                Delivery.id,
                Delivery.tenant_id,
                Delivery.message_id,
                Delivery.channel,
                Delivery.recipient,
                Delivery.attempts,
                Delivery.cost_minor,
            )
            .where(
                Delivery.id.in_([o.claimed.delivery_id for o in outcomes]),
                Delivery.status == DeliveryStatus.SENDING,
                Delivery.claimed_by == worker_id,
            )
            # locked until commit: no other worker can reclaim them between check and write
            .with_for_update()
        )
    }
    now = utcnow()
    endpoints = active_endpoints(session, {o.claimed.tenant_id for o in outcomes})
    updates: list[dict[str, object]] = []
    events: list[dict[str, object]] = []
    written = []
    charges: list[wallet.Hold] = []  # SMS sent: the reservation becomes a charge
    refunds: list[wallet.Hold] = []  # SMS failed for good: the reservation comes back
    for outcome in outcomes:
        row = held.get(outcome.claimed.delivery_id)
        if row is None or row.attempts != outcome.claimed.attempt:
            continue
        values, code, reason = _outcome_values(outcome, row.attempts, policy, now)
        if outcome.gateway is not None:
            values["gateway"] = outcome.gateway
        if row.cost_minor and row.channel == Channel.SMS:
            hold = wallet.Hold(row.tenant_id, row.id, row.cost_minor)
            if isinstance(outcome.result, Sent):
                charges.append(hold)
            elif values["status"] == DeliveryStatus.FAILED:
                refunds.append(hold)
        updates.append({"id": row.id, **values})
        events.append(
            _event(row.tenant_id, row.id, str(values["status"]), row.attempts, code, reason, now)
        )
        _store_locally(session, outcome, row.tenant_id, row.id)
        if values["status"] != DeliveryStatus.QUEUED:
            queue_status_event(
                session,
                endpoints.get(row.tenant_id, []),
                tenant_id=row.tenant_id,
                delivery_id=row.id,
                message_id=row.message_id,
                channel=row.channel,
                recipient=row.recipient,
                status=str(values["status"]),
                error_code=values.get("error_code"),  # type: ignore[arg-type]
            )
        written.append((outcome, str(values["status"])))
    if updates:
        for group in _by_keys(updates):
            session.execute(update(Delivery), group)
        session.execute(EVENTS.insert(), events)
        # Reports the provider sent before this send was recorded (it was faster than us).
        delivery_reports.apply_pending(
            session,
            [
                (o.claimed.delivery_id, o.result.provider_message_id)
                for o, status in written
                if status == DeliveryStatus.SENT
                and o.claimed.channel == Channel.SMS
                and isinstance(o.result, Sent)
            ],
        )
    # Under the row locks taken above and fenced by the attempt: once per delivery.
    wallet.charge(session, charges)
    wallet.release(session, refunds)
    return written


def _by_keys(rows: list[dict[str, object]]) -> list[list[dict[str, object]]]:
    """Rows with the same columns, together: each group is one executemany."""
    groups: dict[tuple[str, ...], list[dict[str, object]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.values())


def _outcome_values(
    outcome: Outcome, attempts: int, policy: RetryPolicy, now: datetime
) -> tuple[dict[str, object], str | None, str | None]:
    """The delivery's new column values, and the event's code and reason."""
    result = outcome.result
    values: dict[str, object] = {"lease_until": None, "updated_at": now}
    if isinstance(result, Failed) and _account_problem(result.code):
        # Wrong credentials or settings fail every message alike until someone fixes them:
        # keep the messages, retry slowly, instead of failing them all at once.
        result = RetryLater(result.code, result.reason, retry_after=policy.cap_seconds)
    if isinstance(result, Sent):
        local = outcome.capture is not None or outcome.portal_client_id is not None
        # Stored locally (portal inbox, dev outbox) means it has arrived.
        values |= {
            "status": DeliveryStatus.DELIVERED if local else DeliveryStatus.SENT,
            "provider_message_id": result.provider_message_id,
            "sent_at": now,
            "final_at": now if local else None,
            "error_code": None,
            "error_message": None,
        }
        return values, None, result.detail
    if isinstance(result, RetryLater) and attempts < policy.max_attempts:
        delay = min(
            result.retry_after
            or retry_delay(attempts, base=policy.base_seconds, cap=policy.cap_seconds),
            policy.cap_seconds,  # a provider's huge Retry-After must not overflow the clock
        )
        values |= {
            "status": DeliveryStatus.QUEUED,
            "next_attempt_at": now + timedelta(seconds=delay),
            "error_code": result.code,
            "error_message": result.reason,
        }
        return values, result.code, result.reason
    exhausted = isinstance(result, RetryLater)
    code = ("retries_exhausted:" if exhausted else "") + result.code
    values |= {
        "status": DeliveryStatus.FAILED,
        "final_at": now,
        "error_code": code,
        "error_message": result.reason,
    }
    return values, code, result.reason


SMS_ACCOUNT_PROBLEMS = frozenset(
    {"sms_config", "smsapi_101", "smsapi_102", "smsapi_103", "smsapi_105", "twilio_20003",
     "http_401"}
)  # fmt: skip
"""SMS gateway credentials, balance or settings are wrong: every message fails alike."""


def _account_problem(code: str) -> bool:
    return (
        code.startswith("smtp_auth")
        or code in ("smtp_config", "mailbox_missing")
        or code in SMS_ACCOUNT_PROBLEMS
    )


def _store_locally(
    session: Session, outcome: Outcome, tenant_id: uuid.UUID, delivery_id: uuid.UUID
) -> None:
    """The dev outbox and the portal inbox are rows, written with the result."""
    if not isinstance(outcome.result, Sent):
        return
    if outcome.capture is not None:
        outcome.capture.delivery_id = delivery_id
        session.add(outcome.capture)
    if outcome.portal_client_id is not None and outcome.message_id is not None:
        session.add(
            PortalMessage(
                tenant_id=tenant_id,
                client_id=outcome.portal_client_id,
                message_id=outcome.message_id,
            )
        )


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
