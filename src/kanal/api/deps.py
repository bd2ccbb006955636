"""Request dependencies: the container, the caller's tenant, its unit of work.

They are ``async`` so a request does not hop to the thread pool once per dependency;
the API key lookup is cached for a few seconds (see :class:`KeyCache`).
"""

import hashlib
import time
import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from kanal.bootstrap import Container
from kanal.services.common import TenantInfo
from kanal.services.tenants import authenticate
from kanal.store.uow import UnitOfWork

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer kn_…`")


class KeyCache:
    """Recently seen API keys → tenant, for ``ttl`` seconds.

    A revoked key keeps working for at most ``ttl`` seconds in a process that saw it;
    a change of the tenant's settings through this process drops its entries at once.
    """

    def __init__(self, ttl: float = 10.0, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[str, tuple[float, TenantInfo]] = {}

    @staticmethod
    def _key(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()

    def get(self, secret: str) -> TenantInfo | None:
        found = self._entries.get(self._key(secret))
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, secret: str, tenant: TenantInfo) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[self._key(secret)] = (time.monotonic() + self.ttl, tenant)

    def forget_tenant(self, tenant_id: uuid.UUID) -> None:
        for key, (_, tenant) in list(self._entries.items()):
            if tenant.id == tenant_id:
                del self._entries[key]


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def current_tenant(
    request: Request,
    container: Annotated[Container, Depends(get_container)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> TenantInfo:
    secret = credentials.credentials if credentials else None
    cache: KeyCache = request.app.state.key_cache
    tenant = cache.get(secret) if secret else None
    if tenant is None:
        tenant = await run_in_threadpool(authenticate, container.uows, secret)
        if secret:
            cache.put(secret, tenant)
    request.state.locale = tenant.locale  # error messages speak the tenant's language
    return tenant


async def tenant_uow(
    tenant: Annotated[TenantInfo, Depends(current_tenant)],
    container: Annotated[Container, Depends(get_container)],
) -> UnitOfWork:
    return container.uows.for_tenant(tenant.id)


Tenant = Annotated[TenantInfo, Depends(current_tenant)]
Uow = Annotated[UnitOfWork, Depends(tenant_uow)]
