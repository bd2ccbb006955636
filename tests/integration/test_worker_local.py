"""The worker without a mail relay: the dev outbox, the portal inbox, webhooks, fairness, leases."""

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import select, update

from kanal.bootstrap import Container
from kanal.core import webhooks as signing
from kanal.services import outbox
from kanal.store.messaging import Delivery
from kanal.store.orm import utcnow
from kanal.worker import Worker
from tests.conftest import Api


def make_worker(container: Container, **settings: Any) -> Worker:
    changed = container.settings.model_copy(update=settings)
    return Worker(Container(settings=changed, uows=container.uows, secrets=container.secrets))


def drain(worker: Worker, rounds: int = 20) -> int:
    """Run batches until nothing is due (deliveries and webhook events)."""

    async def go() -> int:
        total = 0
        for _ in range(rounds):
            handled = await worker.run_once() + await worker.run_webhooks_once()
            total += handled
            if handled == 0:
                break
        await worker.smtp.aclose()
        await worker.webhook_channel.aclose()
        return total

    return asyncio.run(go())


def _client(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": "Anna Nowak", "emails": [{"address": "anna@example.com"}], **fields}
    return api.post("/v1/clients", json=body).json()  # type: ignore[no-any-return]


def _send(api: Api, client: dict[str, Any], channels: list[str], **fields: Any) -> dict[str, Any]:
    body = {
        "recipient": {"client_id": client["id"]},
        "channels": channels,
        "text": "Gotowe.",
        **fields,
    }
    response = api.post("/v1/messages", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_without_a_relay_email_lands_in_the_dev_outbox(api: Api, container: Container) -> None:
    client = _client(api)
    drain(make_worker(container))  # earlier tests' queued mail first
    message = _send(api, client, ["email"], subject="Laptop gotowy do odbioru")
    drain(make_worker(container))
    delivered = api.get(f"/v1/messages/{message['id']}").json()["deliveries"][0]
    assert delivered["status"] == "delivered"
    assert [e["status"] for e in delivered["history"]] == ["queued", "sending", "delivered"]
    listing = api.client.get("/dev/outbox")
    assert listing.status_code == 200 and "Laptop gotowy do odbioru" in listing.text
    captured_id = re.findall(
        r'href="/dev/outbox/([0-9a-f-]+)">Laptop gotowy do odbioru<', listing.text
    )[0]
    page = api.client.get(f"/dev/outbox/{captured_id}")
    assert "anna@example.com" in page.text and "Gotowe." in page.text
    raw = api.client.get(f"/dev/outbox/{captured_id}/raw").content
    assert message["email_message_id"].encode() in raw


def test_portal_message_lands_in_the_inbox_and_is_announced(api: Api, container: Container) -> None:
    client = _client(api, portal_active=True)
    message = _send(api, client, ["portal"], subject="Faktura")
    drain(make_worker(container))
    statuses = {
        d["purpose"]: d["status"]
        for d in api.get(f"/v1/messages/{message['id']}").json()["deliveries"]
    }
    assert statuses == {"message": "delivered", "portal_notice": "delivered"}
    inbox = api.get(f"/v1/clients/{client['id']}/portal/messages").json()
    assert [(i["message_id"], i["read"]) for i in inbox] == [(message["id"], False)]
    read = api.post(f"/v1/clients/{client['id']}/portal/messages/{message['id']}/read").json()
    assert read["read"] is True and read["read_at"] is not None
    assert (
        api.get(f"/v1/clients/{client['id']}/portal/messages", params={"unread": True}).json() == []
    )


def test_one_tenants_bulk_send_does_not_starve_another(
    api: Api, other_api: Api, container: Container
) -> None:
    drain(make_worker(container))  # earlier tests' queued deliveries are not part of this
    bulk_client = _client(api)
    for _ in range(60):
        _send(api, bulk_client, ["email"])
    single = _send(other_api, _client(other_api), ["email"])
    worker = make_worker(container, worker_batch=10)

    async def one_batch() -> None:
        await worker.run_once()

    asyncio.run(one_batch())
    status = other_api.get(f"/v1/messages/{single['id']}").json()["deliveries"][0]["status"]
    assert status == "delivered"  # in the very first batch of 10, beside 60 queued before it


def test_a_dead_workers_deliveries_are_reclaimed_after_the_lease(
    api: Api, container: Container
) -> None:
    message = _send(api, _client(api), ["email"])
    with container.uows.system() as uow:
        claimed, _ = outbox.claim(uow.session, "dead-worker", 500, lease_seconds=60)
        uow.commit()
    assert message["deliveries"][0]["id"] in {str(c.delivery_id) for c in claimed}
    drain(make_worker(container))  # the lease has not expired: nothing to do
    assert api.get(f"/v1/messages/{message['id']}").json()["deliveries"][0]["status"] == "sending"
    with container.uows.system() as uow:
        uow.session.execute(
            update(Delivery)
            .where(Delivery.claimed_by == "dead-worker")
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        uow.commit()
    drain(make_worker(container))
    delivery = api.get(f"/v1/messages/{message['id']}").json()["deliveries"][0]
    assert delivery["status"] == "delivered"
    assert delivery["attempts"] == 2
    assert [(e["status"], e["code"]) for e in delivery["history"]] == [
        ("queued", None),
        ("sending", None),
        ("queued", "lease_expired"),
        ("sending", None),
        ("delivered", None),
    ]


class Receiver:
    """A host application's webhook endpoint on 127.0.0.1, answering as told."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.answers: list[int] = []
        self.port = 0
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        return web.Response(status=self.answers.pop(0) if self.answers else 204)

    def run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            app = web.Application()
            app.router.add_post("/hook", self._handle)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            self._ready.set()
            await self._stop.wait()
            await runner.cleanup()

        asyncio.run(main())

    def stop(self) -> None:
        assert self._loop is not None and self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    server._ready.wait(10)
    yield server
    server.stop()
    thread.join(10)


def test_status_changes_reach_the_host_signed_and_retried(
    api: Api, container: Container, receiver: Receiver
) -> None:
    drain(make_worker(container))  # earlier tests' queued deliveries first
    hook = api.post("/v1/webhooks", json={"url": f"http://127.0.0.1:{receiver.port}/hook"}).json()
    receiver.answers = [500]  # the first POST fails, the retry succeeds
    message = _send(api, _client(api), ["email"])
    worker = make_worker(container, retry_base_seconds=0.0)
    drain(worker)
    with container.uows.system() as uow:  # make the retry due now
        from kanal.store.messaging import WebhookEvent

        uow.session.execute(update(WebhookEvent).values(next_attempt_at=utcnow()))
        uow.commit()
    drain(make_worker(container, retry_base_seconds=0.0))
    assert len(receiver.received) == 2
    headers, body = receiver.received[-1]
    assert signing.verify(
        hook["secret"],
        headers["webhook-id"],
        int(headers["webhook-timestamp"]),
        body,
        headers["webhook-signature"],
    )
    assert receiver.received[0][0]["webhook-id"] == headers["webhook-id"]  # same event, retried
    event = json.loads(body)
    assert event["type"] == "delivery.status"
    assert (event["message_id"], event["status"]) == (message["id"], "delivered")
    log = api.get(f"/v1/webhooks/{hook['id']}/events").json()["items"]
    assert [(e["status"], e["attempts"], e["last_status_code"]) for e in log] == [
        ("delivered", 2, 204)
    ]


def test_readyz_and_metrics(api: Api, container: Container) -> None:
    assert api.client.get("/readyz").json() == {"status": "ready"}
    _send(api, _client(api), ["email"])
    text = api.client.get("/metrics").text
    assert "kanal_queue_depth" in text and "kanal_deliveries_by_status{" in text
    with container.uows.system() as uow:
        assert uow.session.scalars(select(Delivery.id)).first() is not None


def test_a_queued_message_wakes_a_waiting_worker(api: Api, container: Container) -> None:
    """No polling delay: PostgreSQL wakes workers by NOTIFY, SQLite by an in-process nudge."""
    drain(make_worker(container))
    worker = make_worker(container, poll_seconds=30.0)
    postgres = container.uows.engine.dialect.name == "postgresql"
    if not postgres:
        container.wakeups.append(worker.nudge)
    thread = threading.Thread(target=lambda: asyncio.run(worker.run()), daemon=True)
    thread.start()
    try:
        time.sleep(1.5)  # the worker found nothing and now waits (for up to 30 s)
        message = _send(api, _client(api), ["email"])
        started = time.monotonic()
        status = "queued"
        while status != "delivered" and time.monotonic() - started < 10:
            time.sleep(0.05)
            status = api.get(f"/v1/messages/{message['id']}").json()["deliveries"][0]["status"]
        assert status == "delivered"
        assert time.monotonic() - started < 5
    finally:
        assert worker._loop is not None
        worker._loop.call_soon_threadsafe(worker.stopping.set)
        thread.join(30)
        if not postgres:
            container.wakeups.remove(worker.nudge)
