"""The service staff's API (/v1/ops): sender-name decisions, number pools, top-ups.

Every route needs the operator token (:mod:`kanal.api.ops_auth`); without one in the
settings the whole prefix answers 404.
"""

import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from kanal.api.ops_auth import Operator
from kanal.api.routes.directory import Cursor, Limit
from kanal.api.routes.senders import DOWNLOAD, document_response
from kanal.services import sender_name_review, sender_names, sender_numbers, staff_wallet
from kanal.services.common import Page
from kanal.services.wallet import TopUpIn, WalletView
from kanal.store.uow import UnitOfWorkFactory

router = APIRouter(prefix="/v1/ops", tags=["operator"], dependencies=[Operator])


def _uows(request: Request) -> UnitOfWorkFactory:
    uows: UnitOfWorkFactory = request.app.state.container.uows
    return uows


@router.get("/sender-names", response_model=Page[sender_name_review.StaffSenderNameView])
def list_requests(
    request: Request,
    status: sender_names.Status | None = None,
    tenant_id: uuid.UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    """Sender-name requests of every tenant, oldest first; `status=submitted` is the queue."""
    return sender_name_review.staff_list(_uows(request), status, tenant_id, cursor, limit)


@router.get("/sender-names/{sender_name_id}", response_model=sender_name_review.StaffSenderNameView)
def get_request(request: Request, sender_name_id: uuid.UUID) -> Any:
    return sender_name_review.staff_get(_uows(request), sender_name_id)


@router.post(
    "/sender-names/{sender_name_id}/approve", response_model=sender_name_review.StaffSenderNameView
)
def approve(
    request: Request, sender_name_id: uuid.UUID, body: sender_name_review.ApproveIn | None = None
) -> Any:
    """Approve a submitted request; the tenant can then choose the name in its SMS settings."""
    return sender_name_review.approve(_uows(request), sender_name_id, body.by if body else None)


@router.post(
    "/sender-names/{sender_name_id}/reject", response_model=sender_name_review.StaffSenderNameView
)
def reject(request: Request, sender_name_id: uuid.UUID, body: sender_name_review.RejectIn) -> Any:
    """Reject with a reason the tenant sees; it may request the name again."""
    return sender_name_review.reject(_uows(request), sender_name_id, body.reason, body.by)


@router.get(
    "/sender-names/{sender_name_id}/documents/{document_id}",
    response_class=Response,
    responses=DOWNLOAD,
)
def download(request: Request, sender_name_id: uuid.UUID, document_id: uuid.UUID) -> Response:
    return document_response(
        sender_name_review.staff_document(_uows(request), sender_name_id, document_id)
    )


@router.get("/tenants/{tenant_id}/sms/numbers", response_model=list[sender_numbers.NumberView])
def list_numbers(request: Request, tenant_id: uuid.UUID) -> Any:
    return sender_numbers.staff_list(_uows(request), tenant_id)


@router.post(
    "/tenants/{tenant_id}/sms/numbers",
    status_code=201,
    response_model=sender_numbers.NumberView,
    responses={200: {"description": "Already in the pool (now in use again)"}},
)
def add_number(
    request: Request, tenant_id: uuid.UUID, body: sender_numbers.NumberIn, response: Response
) -> Any:
    view, created = sender_numbers.add_number(_uows(request), tenant_id, body)
    if not created:
        response.status_code = 200
    return view


@router.post(
    "/tenants/{tenant_id}/sms/numbers/{number_id}/deactivate",
    response_model=sender_numbers.NumberView,
)
def deactivate_number(request: Request, tenant_id: uuid.UUID, number_id: uuid.UUID) -> Any:
    """Take a number out of use; its clients are moved to another number on their next SMS."""
    return sender_numbers.deactivate_number(_uows(request), tenant_id, number_id)


@router.post(
    "/tenants/{tenant_id}/wallet/topups",
    status_code=201,
    response_model=staff_wallet.TopUpView,
    responses={200: {"description": "That reference was topped up before; nothing added"}},
)
def top_up(request: Request, tenant_id: uuid.UUID, body: TopUpIn, response: Response) -> Any:
    """Add a payment to the tenant's prepaid balance (minor units: 10000 = 100.00)."""
    view = staff_wallet.staff_top_up(_uows(request), tenant_id, body)
    if not view.created:
        response.status_code = 200
    return view


@router.get("/tenants/{tenant_id}/wallet", response_model=WalletView)
def wallet(
    request: Request, tenant_id: uuid.UUID, cursor: Cursor = None, limit: Limit = 100
) -> Any:
    return staff_wallet.staff_statement(_uows(request), tenant_id, cursor, limit)
