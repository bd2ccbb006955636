"""Request dependencies: the container, the caller's tenant, its unit of work."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kanal.bootstrap import Container
from kanal.services.common import TenantInfo
from kanal.services.tenants import authenticate
from kanal.store.uow import UnitOfWork

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer kn_…`")


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def current_tenant(
    request: Request,
    container: Annotated[Container, Depends(get_container)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> TenantInfo:
    tenant = authenticate(container.uows, credentials.credentials if credentials else None)
    request.state.locale = tenant.locale  # error messages speak the tenant's language
    return tenant


def tenant_uow(
    tenant: Annotated[TenantInfo, Depends(current_tenant)],
    container: Annotated[Container, Depends(get_container)],
) -> UnitOfWork:
    return container.uows.for_tenant(tenant.id)


Tenant = Annotated[TenantInfo, Depends(current_tenant)]
Uow = Annotated[UnitOfWork, Depends(tenant_uow)]
