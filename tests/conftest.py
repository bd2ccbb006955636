"""Shared fixtures. The database comes from KANAL_TEST_DATABASE_URL (SQLite by default).

The schema is migrated once per session; every test makes its own tenants, so tests
never see each other's rows and need no clean-up (tenancy is the isolation).
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kanal.api.app import create_app
from kanal.bootstrap import Container, build
from kanal.config import Settings
from kanal.services.common import TenantInfo
from kanal.services.tenants import TenantIn, create_api_key, create_tenant
from kanal.store import migrate
from kanal.store.uow import UnitOfWorkFactory


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("KANAL_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'kanal.db'}"


@pytest.fixture(scope="session")
def container(database_url: str) -> Iterator[Container]:
    container = build(Settings(database_url=database_url, secret_key="test-secret"))
    migrate.upgrade(container.uows.engine)
    yield container
    container.close()


@pytest.fixture(scope="session")
def uows(container: Container) -> UnitOfWorkFactory:
    return container.uows


@pytest.fixture
def make_tenant(uows: UnitOfWorkFactory) -> Callable[..., tuple[TenantInfo, str]]:
    """A fresh tenant and an API key for it: ``tenant, key = make_tenant(locale="cs")``."""

    def make(name: str = "Serwis Test", **fields: str) -> tuple[TenantInfo, str]:
        view = create_tenant(uows, TenantIn(name=name, **fields))
        key = create_api_key(uows, view.id, "test")
        return TenantInfo(
            view.id, view.name, view.locale, view.timezone, view.phone_region
        ), key.key

    return make


@pytest.fixture(scope="session")
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as test_client:
        yield test_client


class Api:
    """A test client bound to one tenant's key."""

    def __init__(self, client: TestClient, key: str, tenant: TenantInfo) -> None:
        self.client, self.key, self.tenant = client, key, tenant
        self.headers = {"Authorization": f"Bearer {key}"}

    def __getattr__(self, method: str) -> Callable[..., object]:
        call = getattr(self.client, method)
        return lambda *args, **kw: call(
            *args, headers={**self.headers, **kw.pop("headers", {})}, **kw
        )


@pytest.fixture
def api(client: TestClient, make_tenant: Callable[..., tuple[TenantInfo, str]]) -> Api:
    tenant, key = make_tenant()
    return Api(client, key, tenant)


@pytest.fixture
def other_api(client: TestClient, make_tenant: Callable[..., tuple[TenantInfo, str]]) -> Api:
    tenant, key = make_tenant(name="Inna Firma")
    return Api(client, key, tenant)


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
