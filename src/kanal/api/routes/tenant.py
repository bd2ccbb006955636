"""The caller's own account: name, language, region and billing data."""

from typing import Any

from fastapi import APIRouter, Request

from kanal.api.deps import Tenant, Uow
from kanal.services.tenants import TenantPatch, TenantView, get_tenant, update_tenant

router = APIRouter(prefix="/v1/tenant", tags=["tenant"])


@router.get("", response_model=TenantView, summary="The account behind the API key")
def read(tenant: Tenant, uow: Uow) -> Any:
    return get_tenant(uow, tenant)


@router.patch("", response_model=TenantView, summary="Change the account's settings")
def change(request: Request, patch: TenantPatch, tenant: Tenant, uow: Uow) -> Any:
    view = update_tenant(uow, tenant, patch)
    request.app.state.key_cache.forget_tenant(tenant.id)  # the new language applies at once
    return view
