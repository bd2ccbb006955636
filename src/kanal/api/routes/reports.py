"""Reports a tenant checks its bill with: the "Sent SMS" report and the wallet statement."""

import re
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from kanal.api.deps import Tenant, Uow
from kanal.api.routes.directory import Cursor
from kanal.core.vocab import ContextKind, DeliveryStatus
from kanal.services import sms_report, wallet

router = APIRouter(prefix="/v1", tags=["reports"])

CSV = "text/csv"


def _filename(date_from: str | None, date_to: str | None) -> str:
    period = "_".join(re.sub(r"[^0-9A-Za-z]+", "", v) for v in (date_from, date_to) if v)
    return f"sms-report{'-' + period if period else ''}.csv"


@router.get(
    "/reports/sms",
    response_model=sms_report.SmsReportView,
    responses={200: {"content": {CSV: {}}, "description": "JSON, or CSV with ?format=csv"}},
    summary='The "Sent SMS" report: rows and totals of segments and cost',
)
def report_sms(
    request: Request,
    tenant: Tenant,
    date_from: Annotated[
        str | None,
        Query(alias="from", max_length=40, description="YYYY-MM-DD (tenant's zone) or ISO time"),
    ] = None,
    date_to: Annotated[
        str | None,
        Query(alias="to", max_length=40, description="YYYY-MM-DD (included) or ISO time"),
    ] = None,
    status: Annotated[list[DeliveryStatus] | None, Query()] = None,
    client_id: uuid.UUID | None = None,
    branch_id: Annotated[uuid.UUID | None, Query(description="The thread's context's")] = None,
    sender: Annotated[str | None, Query(max_length=20)] = None,
    context_id: uuid.UUID | None = None,
    context_kind: ContextKind | None = None,
    context_external_id: Annotated[str | None, Query(max_length=100)] = None,
    format: Annotated[Literal["json", "csv"] | None, Query()] = None,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
) -> Any:
    """Filtered SMS deliveries, newest first (JSON: a page and the totals of all of them).

    CSV (`?format=csv` or `Accept: text/csv`) has every row, times in the tenant's zone,
    and the totals as its last row (`TOTAL`).
    """
    container = request.app.state.container
    query = sms_report.SmsReportQuery(
        date_from=date_from,
        date_to=date_to,
        statuses=status or (),
        client_id=client_id,
        branch_id=branch_id,
        sender=sender,
        context_id=context_id,
        context_kind=context_kind,
        context_external_id=context_external_id,
    )
    wants_csv = format == "csv" or (format is None and CSV in request.headers.get("accept", ""))
    if wants_csv:
        chunks = sms_report.csv_report(container.uows, tenant, query)  # checked before streaming
        disposition = f'attachment; filename="{_filename(date_from, date_to)}"'
        return StreamingResponse(
            chunks,
            media_type=f"{CSV}; charset=utf-8",
            headers={"Content-Disposition": disposition},
        )
    return sms_report.sms_report(container.uows, tenant, query, cursor, limit)


@router.get("/wallet", response_model=wallet.WalletView, tags=["wallet"])
def get_wallet(
    tenant: Tenant,
    uow: Uow,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """The balance, what queued SMS hold, what was spent, and the ledger (newest first)."""
    return wallet.statement(uow, tenant, cursor, limit)
