"""SIGTERM: a worker finishes the sends in flight, gives back the rest, and exits."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from kanal.store.messaging import Delivery
from tests.seed import relay_env, seed
from tests.smtp_peer import SmtpPeer

pytestmark = pytest.mark.e2e


@pytest.fixture
def peer() -> Iterator[SmtpPeer]:
    with SmtpPeer() as server:
        yield server


def test_sigterm_finishes_or_releases_the_claimed_batch(tmp_path: Path, peer: SmtpPeer) -> None:
    url = f"sqlite:///{tmp_path / 'sigterm.db'}"
    seeded = seed(url)
    container, tenant = seeded.container, seeded.tenant
    seeded.queue(20)
    peer.delay("DATA", 1.0, times=None)  # every send takes a second
    env = relay_env(dict(os.environ), url, peer.host, peer.port, KANAL_WORKER_CONCURRENCY="2")
    worker = subprocess.Popen(
        [sys.executable, "-m", "kanal", "worker"], env=env, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while "DATA" not in peer.commands and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr

    with container.uows.for_tenant(tenant.id) as uow:
        rows = uow.session.execute(select(Delivery.status, Delivery.attempts)).all()
    container.close()
    sent = [attempts for status, attempts in rows if status == "sent"]
    queued = [attempts for status, attempts in rows if status == "queued"]
    assert "sending" not in {status for status, _ in rows}  # nothing left claimed
    assert 1 <= len(sent) <= 2  # the sends in flight were finished and recorded
    assert len(sent) + len(queued) == 20
    assert set(queued) == {0}  # given back untouched
    assert len(peer.messages) == len(sent)
    # not on a terminal: the worker logged JSON lines
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(entry["msg"].endswith("stopped") for entry in lines)


def test_a_second_worker_on_one_sqlite_database_refuses_to_start(tmp_path: Path) -> None:
    """SQLite has no SKIP LOCKED: one worker per database, held by a file lock."""
    url = f"sqlite:///{tmp_path / 'one.db'}"
    seed(url).container.close()
    env = {**os.environ, "KANAL_DATABASE_URL": url, "KANAL_SECRET_KEY": "t"}
    first = subprocess.Popen(
        [sys.executable, "-m", "kanal", "worker"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while not (tmp_path / "one.db.worker.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        second = subprocess.run(
            [sys.executable, "-m", "kanal", "worker"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 1
        assert "another worker already runs on this SQLite database" in second.stderr
        assert first.poll() is None  # the first one keeps running
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
