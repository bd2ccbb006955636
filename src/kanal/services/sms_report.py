"""The "Sent SMS" report (seed 003): every SMS delivery of a period, with what it cost.

Filters: the period (``from``/``to`` as days in the tenant's time zone, both included,
or ISO datetimes, ``to`` excluded), statuses, the client, the branch (of the thread's
context), the sender, the context (id, or kind + external id). Rows are newest first.

Cost: each row shows its SMS's price; the totals' ``cost_minor`` is what was charged
(sent SMS, whatever the network did with them later), ``held_minor`` what SMS still
queued hold, and failed SMS (refunded) count in neither.

One query per page (deliveries joined to their message, thread, client and context)
and one for the totals; CSV pages through the same query.
"""

import csv
import io
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import Row, Select, case, func, select
from sqlalchemy.orm import Session

from kanal.core.errors import NotFound, invalid
from kanal.core.money import format_minor, wallet_currency
from kanal.core.vocab import Channel, ContextKind, DeliveryStatus
from kanal.services.common import MAX_PAGE, TenantInfo, decode_cursor, encode_cursor, get_or_404
from kanal.store.messaging import Delivery, Message, Thread
from kanal.store.models import Branch, Client, Context, Tenant
from kanal.store.sms import Wallet
from kanal.store.uow import UnitOfWorkFactory

CHARGED: frozenset[str] = frozenset(
    {
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.EXPIRED,
    }
)
HELD: frozenset[str] = frozenset({DeliveryStatus.QUEUED, DeliveryStatus.SENDING})
CSV_CHUNK = 1000
AnySelect = TypeVar("AnySelect", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True, slots=True)
class SmsReportQuery:
    """The report's filters, as given (validated by :func:`plan`)."""

    date_from: str | None = None
    date_to: str | None = None
    statuses: Sequence[DeliveryStatus] = ()
    client_id: uuid.UUID | None = None
    branch_id: uuid.UUID | None = None
    sender: str | None = None
    context_id: uuid.UUID | None = None
    context_kind: ContextKind | None = None
    context_external_id: str | None = None


class SmsReportRow(BaseModel):
    id: uuid.UUID  # the delivery
    message_id: uuid.UUID
    created_at: datetime  # queued
    sent_at: datetime | None
    final_at: datetime | None
    recipient: str
    client_id: uuid.UUID | None
    client_name: str | None
    sender: str | None
    segments: int | None
    encoding: str | None
    cost_minor: int | None
    cost: str | None  # formatted, e.g. "0.32 PLN"
    charged: bool
    status: str
    error_code: str | None
    context_id: uuid.UUID | None
    context_kind: str | None
    context_number: str | None
    branch_id: uuid.UUID | None


class SmsReportTotals(BaseModel):
    count: int
    segments: int
    cost_minor: int  # charged
    cost: str
    held_minor: int  # still queued or sending


class SmsReportView(BaseModel):
    currency: str
    period_from: datetime | None
    period_to: datetime | None
    totals: SmsReportTotals
    items: list[SmsReportRow]
    next_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """Validated filters: the period in UTC, the context resolved to its id."""

    tenant: TenantInfo
    currency: str
    start: datetime | None
    end: datetime | None
    statuses: tuple[str, ...]
    client_id: uuid.UUID | None
    branch_id: uuid.UUID | None
    sender: str | None
    context_id: uuid.UUID | None


def _bound(value: str | None, zone: ZoneInfo, name: str, end: bool) -> datetime | None:
    """A day in the tenant's zone (``to``: through its end) or an ISO datetime (naive:
    the tenant's zone), in UTC."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
            return datetime.combine(day, time(), zone).astimezone(UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise invalid("report_period_invalid", name, value=value) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(UTC)


def plan(session: Session, tenant: TenantInfo, query: SmsReportQuery) -> Plan:
    """Check the filters (unknown client, branch or context: 404) and resolve them."""
    zone = ZoneInfo(tenant.timezone)
    start = _bound(query.date_from, zone, "from", end=False)
    end = _bound(query.date_to, zone, "to", end=True)
    if start and end and start >= end:
        raise invalid("report_period_order", "to")
    if query.client_id is not None:
        get_or_404(session, Client, query.client_id, "client")
    if query.branch_id is not None:
        get_or_404(session, Branch, query.branch_id, "branch")
    context_id = query.context_id
    if context_id is not None:
        get_or_404(session, Context, context_id, "context")
    elif query.context_kind is not None or query.context_external_id:
        if query.context_kind is None or not query.context_external_id:
            raise invalid("report_context_incomplete", "context_external_id")
        context_id = session.scalars(
            select(Context.id).where(
                Context.kind == query.context_kind,
                Context.external_id == query.context_external_id,
            )
        ).first()
        if context_id is None:
            raise NotFound(resource="context")
    currency = session.scalars(select(Wallet.currency)).first() or wallet_currency(tenant.locale)
    return Plan(
        tenant, currency, start, end, tuple(str(s) for s in query.statuses),
        query.client_id, query.branch_id, query.sender or None, context_id,
    )  # fmt: skip


def _conditions(p: Plan) -> list[Any]:
    where: list[Any] = [Delivery.tenant_id == p.tenant.id, Delivery.channel == Channel.SMS]
    if p.start is not None:
        where.append(Delivery.created_at >= p.start)
    if p.end is not None:
        where.append(Delivery.created_at < p.end)
    if p.statuses:
        where.append(Delivery.status.in_(p.statuses))
    if p.client_id is not None:
        where.append(Thread.client_id == p.client_id)
    if p.branch_id is not None:
        where.append(Context.branch_id == p.branch_id)
    if p.sender is not None:
        where.append(Delivery.sender == p.sender)
    if p.context_id is not None:
        where.append(Thread.context_id == p.context_id)
    return where


def _joined(stmt: AnySelect) -> AnySelect:
    return (
        stmt.select_from(Delivery)
        .join(Message, Message.id == Delivery.message_id)
        .join(Thread, Thread.id == Message.thread_id)
        .outerjoin(Client, Client.id == Thread.client_id)
        .outerjoin(Context, Context.id == Thread.context_id)
    )


_ROW_COLUMNS = (
    Delivery.id, Delivery.message_id, Delivery.created_at, Delivery.sent_at, Delivery.final_at,
    Delivery.recipient, Thread.client_id, Client.name.label("client_name"), Delivery.sender,
    Delivery.segments, Delivery.encoding, Delivery.cost_minor, Delivery.status,
    Delivery.error_code, Thread.context_id, Context.kind.label("context_kind"),
    Context.number.label("context_number"), Context.branch_id,
)  # fmt: skip
"""Labelled as :class:`SmsReportRow`'s fields."""


def _rows(
    session: Session, p: Plan, before: uuid.UUID | None, limit: int
) -> list[Row[*tuple[Any, ...]]]:
    stmt = _joined(select(*_ROW_COLUMNS)).where(*_conditions(p))
    if before is not None:
        stmt = stmt.where(Delivery.id < before)
    return list(session.execute(stmt.order_by(Delivery.id.desc()).limit(limit)))


def _row(row: Row[*tuple[Any, ...]], currency: str) -> SmsReportRow:
    cost_minor = row.cost_minor
    return SmsReportRow(
        **row._mapping,
        cost=None if cost_minor is None else format_minor(cost_minor, currency),
        charged=row.status in CHARGED,
    )


def totals(session: Session, p: Plan) -> SmsReportTotals:
    cost = func.coalesce(Delivery.cost_minor, 0)
    count, segments, charged, held = session.execute(
        _joined(
            select(
                func.count(Delivery.id),
                func.coalesce(func.sum(Delivery.segments), 0),
                func.coalesce(
                    func.sum(case((Delivery.status.in_(list(CHARGED)), cost), else_=0)), 0
                ),
                func.coalesce(func.sum(case((Delivery.status.in_(list(HELD)), cost), else_=0)), 0),
            )
        ).where(*_conditions(p))
    ).one()
    return SmsReportTotals(
        count=int(count),
        segments=int(segments),
        cost_minor=int(charged),
        cost=format_minor(int(charged), p.currency),
        held_minor=int(held),
    )


def sms_report(
    uows: UnitOfWorkFactory, tenant: TenantInfo, query: SmsReportQuery,
    cursor: str | None = None, limit: int = 100,
) -> SmsReportView:  # fmt: skip
    """One page of the report (newest first) and the totals of the whole filtered set."""
    limit = max(1, min(limit, MAX_PAGE))
    before = decode_cursor(cursor) if cursor else None
    with uows.for_tenant(tenant.id) as uow:
        p = plan(uow.session, tenant, query)
        rows = _rows(uow.session, p, before, limit + 1)
        more = len(rows) > limit
        items = [_row(r, p.currency) for r in rows[:limit]]
        return SmsReportView(
            currency=p.currency,
            period_from=p.start,
            period_to=p.end,
            totals=totals(uow.session, p),
            items=items,
            next_cursor=encode_cursor(items[-1].id) if more else None,
        )


CSV_COLUMNS = (
    "time", "recipient", "client", "sender", "segments", "encoding", "cost_minor", "cost",
    "currency", "charged", "status", "error_code", "context", "delivery_id",
)  # fmt: skip


def _csv(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def csv_report(uows: UnitOfWorkFactory, tenant: TenantInfo, query: SmsReportQuery) -> Iterator[str]:
    """The whole report as CSV text, chunk by chunk (validated before the first chunk).

    Times are local to the tenant. The last line is the totals: ``TOTAL``, the count in
    the recipient column, and the sums of segments and of the charged cost.
    """
    with uows.for_tenant(tenant.id) as uow:
        p = plan(uow.session, tenant, query)
    return _csv_chunks(uows, p)


def _csv_chunks(uows: UnitOfWorkFactory, p: Plan) -> Iterator[str]:
    zone = ZoneInfo(p.tenant.timezone)
    yield _csv([list(CSV_COLUMNS)])
    count = segments = charged = 0
    before: uuid.UUID | None = None
    while True:
        # A short transaction per chunk: nothing is held while the client reads. Newer
        # SMS have higher ids, so they cannot slip into a later chunk.
        with uows.for_tenant(p.tenant.id) as uow:
            rows = [_row(r, p.currency) for r in _rows(uow.session, p, before, CSV_CHUNK)]
        if not rows:
            break
        lines = []
        for r in rows:
            count += 1
            segments += r.segments or 0
            charged += (r.cost_minor or 0) if r.charged else 0
            lines.append(
                [
                    r.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                    r.recipient, r.client_name or "", r.sender or "", r.segments or "",
                    r.encoding or "", r.cost_minor if r.cost_minor is not None else "",
                    r.cost or "", p.currency, "yes" if r.charged else "no", r.status,
                    r.error_code or "", r.context_number or "", str(r.id),
                ]
            )  # fmt: skip
        yield _csv(lines)
        before = rows[-1].id
        if len(rows) < CSV_CHUNK:
            break
    yield _csv(
        [["TOTAL", count, "", "", segments, "", charged, format_minor(charged, p.currency),
          p.currency, "", "", "", "", ""]]
    )  # fmt: skip


def load_tenant(uows: UnitOfWorkFactory, tenant_id: uuid.UUID) -> TenantInfo:
    """The tenant as the report needs it (for the CLI, which has no API key)."""
    with uows.system() as uow:
        row = uow.session.get(Tenant, tenant_id)
        if row is None:
            raise NotFound(resource="tenant")
        return TenantInfo(row.id, row.name, row.locale, row.timezone, row.phone_region)
