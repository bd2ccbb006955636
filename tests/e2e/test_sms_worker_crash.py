"""Kill `kanal worker` processes with SIGKILL while they send a few hundred SMS to a fake
SMSAPI: every SMS is accepted by the gateway once and paid for exactly once.

The fake accepts each SMS at once but answers slowly, so a killed worker always leaves
SMS that went out but were never recorded: the leases expire, another worker retries
them, and SMSAPI refuses the repeated ``idx`` (error 53), which is recorded as sent. Meanwhile the
wallet must charge each delivery once and keep its balance equal to the ledger.
On PostgreSQL three workers share the queue; on SQLite one is killed and another started.
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import func, select

from kanal.services import wallet
from kanal.services.clients import ClientIn, PhoneIn, clients
from kanal.services.recipients import RecipientIn
from kanal.services.send import SendRequest, send_message
from kanal.store.messaging import Delivery
from kanal.store.sms import Wallet, WalletEntry
from tests.fakes.sms_gateways import FakeSmsapi
from tests.seed import seed

pytestmark = pytest.mark.e2e

MESSAGES = 300


class SlowlyAnsweringSmsapi(FakeSmsapi):
    """Takes the SMS at once, answers 0.1 s later: a worker killed meanwhile never hears."""

    async def _send(self, request: web.Request, fault: Any) -> web.Response:
        response = await super()._send(request, fault)
        await asyncio.sleep(0.1)
        return response


@pytest.fixture
def smsapi() -> Iterator[FakeSmsapi]:
    with SlowlyAnsweringSmsapi(token="smsapi-token") as fake:
        yield fake


def _wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_every_sms_is_sent_and_charged_once_when_workers_are_killed(
    tmp_path: Path, smsapi: FakeSmsapi
) -> None:
    url = os.environ.get("KANAL_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'sms-crash.db'}"
    postgres = url.startswith("postgresql")
    seeded = seed(url)
    container, tenant = seeded.container, seeded.tenant
    client = clients.create(
        container.uows.for_tenant(tenant.id),
        tenant,
        ClientIn(name="Jan", phones=[PhoneIn(number="+48601234567")]),
    )
    wallet.top_up(
        container.uows, tenant.id, wallet.TopUpIn(amount_minor=1_000_00, reference="crash-test")
    )
    request = SendRequest(
        recipient=RecipientIn(client_id=client.id), channels=["sms"], text="Paczka nadana."
    )
    ids = set()
    for _ in range(MESSAGES):
        view, _ = send_message(
            container.uows.for_tenant(tenant.id), tenant, request, "mail.kanal.localhost"
        )
        ids |= {str(d.id) for d in view.deliveries if d.channel == "sms"}
    assert len(ids) == MESSAGES
    gateways = {"smsapi": {"kind": "smsapi", "token": "smsapi-token", "base_url": smsapi.url}}
    env = {
        **os.environ,
        "KANAL_DATABASE_URL": url,
        "KANAL_SECRET_KEY": "test",
        "KANAL_CONFIG": str(tmp_path / "none.toml"),
        "KANAL_SMS_GATEWAYS": json.dumps(gateways),
        "KANAL_SMS_PRIMARY": "smsapi",
        "KANAL_LEASE_SECONDS": "2",
        "KANAL_WORKER_BATCH": "20",
        "KANAL_WORKER_CONCURRENCY": "4",
        "KANAL_POLL_SECONDS": "0.2",
        "KANAL_RETRY_BASE_SECONDS": "0",
    }

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "kanal", "worker"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def accepted() -> Counter[str]:
        return Counter(s.reference for s in smsapi.sent if s.reference in ids)

    def unsettled() -> int:
        with container.uows.for_tenant(tenant.id) as uow:
            stmt = select(func.count()).select_from(Delivery).where(Delivery.status != "sent")
            return int(uow.session.scalar(stmt) or 0)

    workers = [start() for _ in range(3 if postgres else 1)]
    kills = 0
    try:
        for threshold in (60, 140, 220):
            _wait_until(lambda t=threshold: len(accepted()) >= t, 120, f"{threshold} SMS")  # type: ignore[misc]
            victim = workers.pop(0)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            kills += 1
            workers.append(start())
        _wait_until(lambda: set(accepted()) == ids, 180, "every SMS to be accepted")
        _wait_until(lambda: unsettled() == 0, 120, "every delivery to be recorded as sent")
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(30)

    try:
        counts = accepted()
        assert set(counts) == ids and max(counts.values()) == 1  # each accepted exactly once
        asked = Counter(r.fields.get("idx") for r in smsapi.requests)
        resent = {idx for idx in ids if asked[idx] > 1}
        assert resent, "no SMS was sent again: the kills did not hit sends in flight"
        with container.uows.for_tenant(tenant.id) as uow:
            session = uow.session
            # every resend met "already sent" (53): recorded as sent, without an id
            without_id = session.scalars(
                select(Delivery.id).where(Delivery.provider_message_id.is_(None))
            )
            assert {str(i) for i in without_id} == resent
            entries = Counter(
                (str(delivery_id), kind)
                for delivery_id, kind in session.execute(
                    select(WalletEntry.delivery_id, WalletEntry.kind).where(
                        WalletEntry.delivery_id.is_not(None)
                    )
                )
            )
            for delivery_id in ids:  # held, captured, charged: once each, never refunded
                kinds = {k: entries[(delivery_id, k)] for k in ("reservation", "release", "charge")}
                assert kinds == {"reservation": 1, "release": 1, "charge": 1}, delivery_id
            balance = session.scalar(select(Wallet.balance_minor))
            ledger_sum = session.scalar(select(func.sum(WalletEntry.amount_minor)))
            cost = int(session.scalar(select(func.sum(Delivery.cost_minor))) or 0)
        assert balance == ledger_sum == 1_000_00 - cost
    finally:
        container.close()
