"""Alembic environment: runs on the connection handed in by kanal.store.migrate."""

from alembic import context

from kanal.store import messaging, models, sms  # noqa: F401 - registers the tables
from kanal.store.orm import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copy
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
