"""Readiness: the database answers and its schema is the one this code expects."""

from sqlalchemy import text

from kanal.store import migrate
from kanal.store.uow import UnitOfWorkFactory


def readiness(uows: UnitOfWorkFactory) -> dict[str, str]:
    """Problems by component; empty when ready."""
    problems: dict[str, str] = {}
    try:
        with uows.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        current, head = migrate.current(uows.engine), migrate.head()
        if current != head:
            problems["schema"] = f"at {current}, code expects {head}: run `kanal migrate`"
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is "not ready"
        problems["database"] = f"{exc.__class__.__name__}: {exc}"[:300]
    return problems
