"""Kill workers with SIGKILL in the middle of a 1,000-message run: nothing is lost.

A message may arrive twice only if its worker died between the server's 250 and the
recorded result; it then carries the same Message-ID, and such duplicates are at most
one per kill (each worker holds one send-until-recorded slot here). On PostgreSQL three
worker processes share the queue; on SQLite one worker is killed and another started.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kanal.store.messaging import Delivery
from tests.seed import relay_env, seed
from tests.smtp_peer import SmtpPeer

pytestmark = pytest.mark.e2e

MESSAGES = 1000


@pytest.fixture
def peer() -> Iterator[SmtpPeer]:
    with SmtpPeer() as server:
        yield server


def _start(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "kanal", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_no_message_is_lost_when_workers_are_killed(tmp_path: Path, peer: SmtpPeer) -> None:
    url = os.environ.get("KANAL_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'crash.db'}"
    postgres = url.startswith("postgresql")
    seeded = seed(url)
    container, tenant = seeded.container, seeded.tenant
    ids = seeded.queue(MESSAGES, "Paczka nadana.")
    env = relay_env(
        dict(os.environ),
        url,
        peer.host,
        peer.port,
        KANAL_LEASE_SECONDS="2",
        KANAL_WORKER_BATCH="10",
        KANAL_WORKER_CONCURRENCY="1",
        KANAL_POLL_SECONDS="0.2",
        KANAL_RETRY_BASE_SECONDS="0",
    )

    def arrived() -> Counter[str]:
        return Counter(m.message_id for m in peer.messages if m.message_id in ids)

    workers = [_start(env) for _ in range(3 if postgres else 1)]
    kills = 0
    try:
        for threshold in (250, 600):
            _wait_until(lambda t=threshold: sum(arrived().values()) >= t, 120, f"{threshold} mails")
            victim = workers.pop(0)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            kills += 1
            if not workers:
                workers.append(_start(env))  # SQLite: a new worker takes over
        _wait_until(lambda: set(arrived()) == ids, 180, "every message to arrive")

        def pending() -> int:
            with container.uows.for_tenant(tenant.id) as uow:
                stmt = select(func.count()).where(Delivery.status != "sent")
                return int(uow.session.scalar(stmt.select_from(Delivery)) or 0)

        _wait_until(lambda: pending() == 0, 60, "every delivery to be recorded as sent")
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)
        container.close()

    counts = arrived()
    duplicates = sum(counts.values()) - len(counts)
    assert set(counts) == ids  # nothing lost
    assert duplicates <= kills, f"{duplicates} duplicates after {kills} kills"
