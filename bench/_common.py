"""Shared pieces of the benchmarks: free ports, a sink SMTP server in its own process, databases."""

import multiprocessing as mp
import os
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("KANAL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _sink_main(port: int, count: "mp.sharedctypes.Synchronized[int]", log_path: str | None) -> None:
    import asyncio

    from aiosmtpd.controller import Controller

    log = open(log_path, "a", buffering=1) if log_path else None  # noqa: SIM115

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            with count.get_lock():
                count.value += 1
            if log is not None:
                content: bytes = envelope.original_content or b""  # type: ignore[attr-defined]
                for line in content.split(b"\r\n"):
                    if line.lower().startswith(b"message-id:"):
                        log.write(f"{time.time()} {line.split(b':', 1)[1].strip().decode()}\n")
                        break
            return "250 2.0.0 OK queued"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    asyncio.run(asyncio.sleep(10**9))


@contextmanager
def smtp_sink(
    log_path: str | None = None,
) -> Iterator[tuple[int, "mp.sharedctypes.Synchronized[int]"]]:
    """An aiosmtpd sink in another process (another core): (port, received counter)."""
    port = free_port()
    count = mp.Value("q", 0)
    process = mp.get_context("fork").Process(
        target=_sink_main, args=(port, count, log_path), daemon=True
    )
    process.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield port, count
    finally:
        process.kill()
        process.join()


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh database URL: a temporary SQLite file, or a new PostgreSQL database."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    import psycopg

    name = f"kanal_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except Exception:  # noqa: BLE001
        return False


def kanal_env(database_url: str, smtp_port: int, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "KANAL_DATABASE_URL": database_url,
        "KANAL_SMTP_HOST": "127.0.0.1",
        "KANAL_SMTP_PORT": str(smtp_port),
        "KANAL_SMTP_SECURITY": "none",
        "KANAL_SMTP_AUTH": "NONE",
        "KANAL_SECRET_KEY": "bench",
        "KANAL_LOG_LEVEL": "warning",
        **extra,
    }


def python() -> str:
    return sys.executable
