"""The unit of work keeps every tenant inside its own rows."""

from collections.abc import Callable

import pytest
from sqlalchemy import delete, func, select, update

from kanal.services.common import TenantInfo
from kanal.store.models import Branch, Client
from kanal.store.uow import CrossTenantWrite, UnitOfWorkFactory

MakeTenant = Callable[..., tuple[TenantInfo, str]]


def _client(uows: UnitOfWorkFactory, tenant: TenantInfo, name: str) -> Client:
    with uows.for_tenant(tenant.id) as uow:
        row = Client(name=name, name_folded=name.lower())
        uow.session.add(row)
        uow.commit()
        return row


def test_queries_see_only_the_tenants_rows(
    uows: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    (a, _), (b, _) = make_tenant(), make_tenant()
    mine, theirs = _client(uows, a, "Anna"), _client(uows, b, "Bożena")
    with uows.for_tenant(a.id) as uow:
        names = uow.session.scalars(select(Client.name)).all()
        assert "Anna" in names and "Bożena" not in names
        assert uow.session.get(Client, theirs.id) is None
        assert uow.session.get(Client, mine.id) is not None
        assert uow.session.scalar(select(func.count()).select_from(Branch)) == 1  # its main branch
        # joins and subqueries are filtered too
        joined = select(Client.name).join(Branch, Branch.tenant_id == Client.tenant_id)
        assert "Bożena" not in uow.session.scalars(joined).all()


def test_bulk_update_and_delete_stay_inside_the_tenant(
    uows: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    (a, _), (b, _) = make_tenant(), make_tenant()
    _client(uows, a, "Anna")
    theirs = _client(uows, b, "Bożena")
    with uows.for_tenant(a.id) as uow:
        uow.session.execute(update(Client).values(portal_active=True))
        uow.session.execute(delete(Client).where(Client.name == "Bożena"))
        uow.commit()
    with uows.for_tenant(b.id) as uow:
        row = uow.session.get_one(Client, theirs.id)
        assert row.portal_active is False


def test_writing_a_row_of_another_tenant_is_refused(
    uows: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    (a, _), (b, _) = make_tenant(), make_tenant()
    with uows.for_tenant(a.id) as uow:
        uow.session.add(Client(tenant_id=b.id, name="Intruz", name_folded="intruz"))
        with pytest.raises(CrossTenantWrite):
            uow.flush()


def test_new_rows_get_the_tenant_of_the_unit_of_work(
    uows: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    a, _ = make_tenant()
    row = _client(uows, a, "Ala")
    assert row.tenant_id == a.id


def test_times_come_back_as_aware_utc(uows: UnitOfWorkFactory, make_tenant: MakeTenant) -> None:
    a, _ = make_tenant()
    row = _client(uows, a, "Ala")
    with uows.for_tenant(a.id) as uow:
        loaded = uow.session.get_one(Client, row.id)
        assert loaded.created_at.utcoffset() is not None
        assert loaded.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
