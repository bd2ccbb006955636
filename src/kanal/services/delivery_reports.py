"""Delivery reports applied to deliveries: stored once, applied once, never regressing.

Every report a provider sends is kept as a :class:`DeliveryReport` row. The unique key
(gateway, provider message id, status) makes a replayed callback a no-op. A report moves
a *sent* delivery to delivered / undelivered / expired; a final state is never changed
by a later report (it only adds an event to the history). A report that arrives while
the delivery is still queued or sending (the provider was faster than our commit) waits
unapplied, and :func:`apply_pending` applies it when the worker records the send.

Why there is no lost report: the callback locks the delivery row before it reads the
status (``FOR UPDATE`` on PostgreSQL; on SQLite the first write takes the database's
write lock), and the worker holds the same row locked while it records the send and
calls :func:`apply_pending`. Whichever commits second sees the other's work.
"""

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kanal.channels.sms.reports import DeliveryReport as ParsedReport
from kanal.core.ids import new_id
from kanal.core.vocab import Channel, DeliveryStatus
from kanal.services.webhooks import active_endpoints, queue_status_event
from kanal.store.messaging import Delivery, DeliveryEvent
from kanal.store.orm import utcnow
from kanal.store.sms import DeliveryReport

log = logging.getLogger("kanal.sms.reports")

FINAL: frozenset[str] = frozenset(
    {
        DeliveryStatus.DELIVERED,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.EXPIRED,
        DeliveryStatus.FAILED,
        DeliveryStatus.BOUNCED,
    }
)
"""Delivery statuses no report may change."""

NOT_YET_SENT: frozenset[str] = frozenset({DeliveryStatus.QUEUED, DeliveryStatus.SENDING})

# A report's status (channels.sms.reports) → the delivery's new status. A network that
# failed or rejected a message we handed over is "undelivered": it was sent and paid.
_OUTCOME: Mapping[str, DeliveryStatus] = {
    "delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.UNDELIVERED,
    "rejected": DeliveryStatus.UNDELIVERED,
    "expired": DeliveryStatus.EXPIRED,
}

_COLUMNS = (
    Delivery.id,
    Delivery.tenant_id,
    Delivery.message_id,
    Delivery.channel,
    Delivery.recipient,
    Delivery.status,
    Delivery.attempts,
    Delivery.provider_message_id,
    Delivery.gateway,
    Delivery.sent_at,
)


@dataclass(slots=True)
class Target:
    """The delivery a report is about, as read under its row lock (status kept current)."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    message_id: uuid.UUID
    channel: str
    recipient: str
    status: str
    attempts: int
    provider_message_id: str | None
    gateway: str | None
    sent_at: datetime | None

    @classmethod
    def of(cls, row: Row[*tuple[Any, ...]]) -> "Target":
        return cls(**row._mapping)

    def accepts(self, gateway: str, provider_message_id: str) -> bool:
        """Whether a report through ``gateway`` about that message is about this delivery
        (a failover or a lost answer can leave another provider message behind)."""
        return self.gateway in (None, gateway) and self.provider_message_id in (
            None,
            provider_message_id,
        )


@dataclass(frozen=True, slots=True)
class Pending:
    """A stored report, ready to apply."""

    id: uuid.UUID
    gateway: str
    provider_message_id: str
    status: str
    provider_code: str | None
    provider_status: str | None
    reported_at: datetime | None


@dataclass(slots=True)
class Tally:
    """What one callback did, for the log and the tests."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    applied: int = 0
    pending: int = 0
    unknown: int = 0


def lock_delivery(session: Session, where: Sequence[Any]) -> Target | None:
    """The delivery matching ``where``, locked until commit (see the module docstring)."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite has no row locks: a (no-op) write takes the database write lock now,
        # so the worker's recording cannot commit between our read and our write.
        session.execute(
            update(Delivery)
            .where(*where)
            .values(updated_at=Delivery.updated_at)
            .execution_options(synchronize_session=False)
        )
    row = session.execute(select(*_COLUMNS).where(*where).limit(1).with_for_update()).first()
    return None if row is None else Target.of(row)


def find_delivery(
    session: Session,
    gateway: str,
    report: ParsedReport,
    reference: uuid.UUID | None,
    tenant_id: uuid.UUID | None,
) -> Target | None:
    """By our delivery id (the URL's ``ref`` or SMSAPI's ``idx``), else by the gateway and
    the provider's message id. ``tenant_id``: a tenant's own gateway sees only its own."""
    scope = [Delivery.channel == Channel.SMS]
    if tenant_id is not None:
        scope.append(Delivery.tenant_id == tenant_id)
    if reference is not None:
        found = lock_delivery(session, [Delivery.id == reference, *scope])
        if found is not None:
            return found
    return lock_delivery(
        session,
        [
            Delivery.gateway == gateway,
            Delivery.provider_message_id == report.provider_message_id,
            *scope,
        ],
    )


def store(
    session: Session,
    tenant_id: uuid.UUID,
    gateway: str,
    report: ParsedReport,
    delivery_id: uuid.UUID | None,
    raw: Mapping[str, Any],
) -> Pending | None:
    """Keep the report; None if the same report was kept before (a replay).

    ``ON CONFLICT DO NOTHING``: two copies of one report racing in two transactions
    cannot both be kept, and the loser waits for the winner instead of failing.
    """
    values = {
        "id": new_id(),
        "tenant_id": tenant_id,
        "gateway": gateway,
        "provider_message_id": report.provider_message_id[:200],
        "reference": (report.reference or "")[:200] or None,
        "status": report.status,
        "provider_code": (report.provider_code or "")[:50] or None,
        "provider_status": (report.provider_status or "")[:50] or None,
        "reported_at": report.at,
        "applied_at": None,
        "delivery_id": delivery_id,
        "raw": dict(raw),
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
    dialect = session.get_bind().dialect.name
    unique = ["gateway", "provider_message_id", "status"]
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(DeliveryReport).on_conflict_do_nothing(index_elements=unique)
    elif dialect == "sqlite":
        stmt = sqlite.insert(DeliveryReport).on_conflict_do_nothing(index_elements=unique)
    else:  # pragma: no cover - kanal runs on SQLite and PostgreSQL only
        stmt = insert(DeliveryReport)
    # RETURNING, not rowcount: an ORM-enabled INSERT does not report a reliable rowcount.
    if session.execute(stmt.values(**values).returning(DeliveryReport.id)).first() is None:
        return None
    return Pending(
        values["id"],  # type: ignore[arg-type]
        gateway,
        report.provider_message_id,
        report.status,
        report.provider_code,
        report.provider_status,
        report.at,
    )


def apply(
    session: Session,
    target: Target,
    report: Pending,
    endpoints: Mapping[uuid.UUID, list[uuid.UUID]],
    now: datetime,
) -> None:
    """Apply one report to a delivery whose send is recorded; mark the report applied."""
    outcome = _OUTCOME.get(report.status)
    said = report.provider_status or report.status
    at = report.reported_at or now
    # The history is ordered by time: a provider clock behind ours must not put the
    # report before our own "sent". The exact provider time stays in the reason.
    event_at = max(at, target.sent_at) if target.sent_at else at
    reason = f"report: {said}" + (f" at {at.isoformat()}" if report.reported_at else "")
    if outcome is not None and target.status not in FINAL:
        # The provider's code (SMSAPI's status number, Twilio's ErrorCode) says why.
        delivered = outcome == DeliveryStatus.DELIVERED
        error_code = None if delivered else (report.provider_code or report.status)
        session.execute(
            update(Delivery)
            .where(Delivery.id == target.id)
            .values(
                status=outcome,
                final_at=at,
                error_code=error_code,
                error_message=None if delivered else said,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        target.status = outcome
        _event(session, target, outcome, report.provider_code, reason, event_at)
        queue_status_event(
            session,
            endpoints.get(target.tenant_id, []),
            tenant_id=target.tenant_id,
            delivery_id=target.id,
            message_id=target.message_id,
            channel=target.channel,
            recipient=target.recipient,
            status=outcome,
            error_code=error_code,
        )
    else:
        if outcome is not None:  # final already: the report is history, not a change
            reason = f"{reason} (ignored: already {target.status})"
        _event(session, target, target.status, report.provider_code, reason, event_at)
    session.execute(
        update(DeliveryReport)
        .where(DeliveryReport.id == report.id)
        .values(applied_at=now, delivery_id=target.id, updated_at=now)
        .execution_options(synchronize_session=False)
    )


def _event(
    session: Session, target: Target, status: str, code: str | None, reason: str, at: datetime
) -> None:
    session.execute(
        insert(DeliveryEvent).values(
            id=new_id(),
            tenant_id=target.tenant_id,
            delivery_id=target.id,
            status=status,
            attempt=target.attempts,
            code=code,
            reason=reason[:2000],
            created_at=at,
            updated_at=at,
        )
    )


def apply_pending(session: Session, sent: Sequence[tuple[uuid.UUID, str | None]]) -> int:
    """Apply the reports that arrived before these sends were recorded.

    ``sent`` holds (delivery id, provider message id) of SMS just marked sent. The worker
    calls it in the transaction that marks them (``outbox.record``), with the rows still
    locked. The usual answer is "none waiting": one indexed query, nothing else.
    """
    if not sent:
        return 0
    ids = [delivery_id for delivery_id, _ in sent]
    message_ids = [pmid for _, pmid in sent if pmid]
    matches: ColumnElement[bool] = DeliveryReport.delivery_id.in_(ids)
    if message_ids:  # a tenant gateway's early report may know only the provider's id
        matches = or_(matches, DeliveryReport.provider_message_id.in_(message_ids))
    rows = session.execute(
        select(
            DeliveryReport.id,
            DeliveryReport.gateway,
            DeliveryReport.provider_message_id,
            DeliveryReport.status,
            DeliveryReport.provider_code,
            DeliveryReport.provider_status,
            DeliveryReport.reported_at,
            DeliveryReport.delivery_id,
            DeliveryReport.tenant_id,
            DeliveryReport.created_at,
        ).where(DeliveryReport.applied_at.is_(None), matches)
    ).all()
    if not rows:
        return 0
    targets = [
        Target.of(row)
        for row in session.execute(
            select(*_COLUMNS).where(Delivery.id.in_(ids), Delivery.channel == Channel.SMS)
        )
    ]
    targets = [t for t in targets if t.status not in NOT_YET_SENT]
    by_id = {t.id: t for t in targets}
    by_message = {t.provider_message_id: t for t in targets if t.provider_message_id}
    now = utcnow()
    endpoints = active_endpoints(session, {t.tenant_id for t in targets})
    applied = 0
    # In the order the provider reported them: "sent" before "delivered".
    for row in sorted(rows, key=lambda r: (r.reported_at or r.created_at, r.created_at)):
        target = by_id.get(row.delivery_id) if row.delivery_id else None
        if target is None:
            target = by_message.get(row.provider_message_id)
        if (
            target is None
            or target.tenant_id != row.tenant_id
            or not target.accepts(row.gateway, row.provider_message_id)
        ):
            continue
        report = Pending(
            row.id, row.gateway, row.provider_message_id, row.status,
            row.provider_code, row.provider_status, row.reported_at,
        )  # fmt: skip
        apply(session, target, report, endpoints, now)
        applied += 1
    if applied:
        log.info("applied %d delivery reports that came before their sends", applied)
    return applied
