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

from kanal.bootstrap import build
from kanal.config import Settings
from kanal.services.clients import ClientIn, EmailIn, clients
from kanal.services.common import TenantInfo
from kanal.services.recipients import RecipientIn
from kanal.services.send import SendRequest, send_message
from kanal.services.tenants import TenantIn, create_tenant
from kanal.store import migrate
from kanal.store.messaging import Delivery
from tests.smtp_peer import SmtpPeer

pytestmark = pytest.mark.e2e


@pytest.fixture
def peer() -> Iterator[SmtpPeer]:
    with SmtpPeer() as server:
        yield server


def test_sigterm_finishes_or_releases_the_claimed_batch(tmp_path: Path, peer: SmtpPeer) -> None:
    url = f"sqlite:///{tmp_path / 'sigterm.db'}"
    container = build(Settings(database_url=url, secret_key="t"))
    migrate.upgrade(container.uows.engine)
    view = create_tenant(container.uows, TenantIn(name="Sigterm"))
    tenant = TenantInfo(view.id, view.name, view.locale, view.timezone, view.phone_region)
    client = clients.create(
        container.uows.for_tenant(tenant.id),
        tenant,
        ClientIn(name="Anna", emails=[EmailIn(address="anna@example.com")]),
    )
    request = SendRequest(
        recipient=RecipientIn(client_id=client.id), channels=["email"], text="Hej"
    )
    for _ in range(20):
        send_message(container.uows.for_tenant(tenant.id), tenant, request, "mail.kanal.localhost")
    peer.delay("DATA", 1.0, times=None)  # every send takes a second
    env = {
        **os.environ,
        "KANAL_DATABASE_URL": url,
        "KANAL_SECRET_KEY": "t",
        "KANAL_SMTP_HOST": peer.host,
        "KANAL_SMTP_PORT": str(peer.port),
        "KANAL_SMTP_SECURITY": "none",
        "KANAL_SMTP_AUTH": "NONE",
        "KANAL_WORKER_CONCURRENCY": "2",
    }
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
