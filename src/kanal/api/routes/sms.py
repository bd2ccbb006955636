"""The SMS counter and sender checks, for compose forms and settings pages."""

from typing import Annotated, Any

from fastapi import APIRouter, Query

from kanal.api.deps import Tenant
from kanal.services import sms_counter

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
