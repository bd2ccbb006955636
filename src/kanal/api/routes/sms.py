"""The SMS counter and sender checks, the SMS settings and the account's own gateways."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from kanal.api.deps import Tenant, Uow
from kanal.services import sms_counter, sms_settings

router = APIRouter(prefix="/v1/sms", tags=["sms"])


@router.post("/analyze", response_model=sms_counter.Analysis)
def analyze(body: sms_counter.AnalyzeIn, tenant: Tenant) -> Any:
    """Characters, SMS count and encoding of a text, what forces Unicode and what would save."""
    return sms_counter.analyze(tenant, body)


@router.get("/sender-check", response_model=list[sms_counter.SenderProblem])
def sender_check(
    tenant: Tenant,
    name: Annotated[str | None, Query(max_length=100)] = None,
    number: Annotated[str | None, Query(max_length=40)] = None,
) -> Any:
    """Problems with a requested alphanumeric sender name or numeric sender (none: allowed)."""
    return sms_counter.check_sender(tenant, name, number)


@router.get("/settings", response_model=sms_settings.SmsSettingsView)
def get_settings(tenant: Tenant, uow: Uow) -> Any:
    """SMS on or off, without Polish letters, the longest SMS allowed, the sender."""
    return sms_settings.get_settings(uow, tenant)


@router.put("/settings", response_model=sms_settings.SmsSettingsView)
def put_settings(body: sms_settings.SmsSettingsIn, tenant: Tenant, uow: Uow) -> Any:
    """Replace the SMS settings. Choosing a sender name answers that replies become impossible."""
    return sms_settings.put_settings(uow, tenant, body)


@router.post("/gateways", status_code=201, response_model=sms_settings.GatewayView)
def add_gateway(request: Request, body: sms_settings.GatewayIn, tenant: Tenant, uow: Uow) -> Any:
    """Connect the account's own gateway (SMSAPI, Twilio or a generic HTTP one)."""
    container = request.app.state.container
    return sms_settings.add_gateway(
        uow, tenant, body, container.secrets, container.settings.base_url
    )


@router.get("/gateways", response_model=list[sms_settings.GatewayView])
def list_gateways(request: Request, uow: Uow) -> Any:
    return sms_settings.list_gateways(uow, request.app.state.container.settings.base_url)


@router.delete("/gateways/{gateway_id}", status_code=204)
def delete_gateway(gateway_id: uuid.UUID, uow: Uow) -> Response:
    sms_settings.delete_gateway(uow, gateway_id)
    return Response(status_code=204)
