"""Migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from kanal.bootstrap import Container
from kanal.store import migrate
from kanal.store.orm import Base


def test_migrated_schema_matches_the_models(container: Container) -> None:
    engine = container.uows.engine
    assert migrate.current(engine) == migrate.head()
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


SERVICE_TABLES = {"tenants", "sms_prices"}  # the service's own: no tenant owns them


def test_every_table_but_the_services_belongs_to_a_tenant(container: Container) -> None:
    inspector = inspect(container.uows.engine)
    for table in Base.metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        if table.name not in SERVICE_TABLES:
            assert "tenant_id" in columns, table.name
