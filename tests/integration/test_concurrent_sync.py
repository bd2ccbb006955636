"""A host that syncs the same record from several threads at once gets one record."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from kanal.services.clients import ClientIn, PhoneIn, clients
from kanal.services.common import TenantInfo
from kanal.store.models import Client
from kanal.store.uow import UnitOfWorkFactory


def test_concurrent_upserts_of_one_external_id_make_one_client(
    uows: UnitOfWorkFactory, make_tenant: Callable[..., tuple[TenantInfo, str]]
) -> None:
    tenant, _ = make_tenant()

    def sync(index: int) -> tuple[str, bool]:
        data = ClientIn(
            name=f"Anna Nowak {index}", external_id="crm-1", phones=[PhoneIn(number="601234567")]
        )
        view, created = clients.upsert(
            uows.for_tenant(tenant.id), tenant, data, external_id="crm-1"
        )
        return str(view.id), created

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(sync, range(16)))
    assert len({client_id for client_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with uows.for_tenant(tenant.id) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Client)) == 1
