"""Engines for SQLite (embedded default) and PostgreSQL (many workers)."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whatever driver (if any) the URL names."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername != "postgresql+psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine with the pragmas kanal relies on (SQLite: WAL, foreign keys, busy wait)."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


OUTBOX_CHANNEL = "kanal_outbox"


def notify_outbox(session: Any) -> None:
    """Wake PostgreSQL workers when this transaction commits (NOTIFY is transactional)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))


async def listen_for_outbox(url: str, wake: Callable[[], None]) -> None:
    """Call ``wake`` on every NOTIFY; returns at once on databases without it."""
    parsed = make_url(normalise_url(url))
    if parsed.get_backend_name() != "postgresql":
        return
    import psycopg

    conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as connection:
        await connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
        async for _ in connection.notifies():
            wake()


def sqlite_worker_lock(url: str) -> Any:
    """On SQLite, an exclusive lock file beside the database, or None if another worker holds it.

    SQLite has one writer and no SKIP LOCKED: two workers would claim the same rows. The
    lock is a file lock, so a killed worker's lock goes with its process. On other
    databases it returns a no-op token: any number of workers may run.
    """
    parsed = make_url(normalise_url(url))
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return True
    import fcntl

    handle = open(f"{parsed.database}.worker.lock", "a")  # noqa: SIM115 - held for the process
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle
