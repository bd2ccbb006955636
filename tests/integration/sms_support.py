"""SMS deliveries for tests, and kanal's real HTTP server for provider callbacks.

``running(container)`` serves the API with uvicorn in a thread on a free port, with the
service gateways below and ``public_url`` set to that port (Twilio signs that URL).
A test composes an SMS through ``POST /v1/messages``, takes its delivery as a worker
would (``take``), sends it through a real adapter to a fake provider (``send``), and
records the result with ``outbox.record`` (``record_sent``): the worker's steps, one by
one, so a test can put a provider's callback between any two of them.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import uvicorn
from sqlalchemy import select, update

from kanal.api.app import create_app
from kanal.bootstrap import Container
from kanal.channels.base import Sent
from kanal.channels.sms import SmsGateway, SmsMessage
from kanal.channels.sms.reports import callback_url
from kanal.core.vocab import DeliveryStatus
from kanal.services import outbox, wallet
from kanal.services.sms_gateways import callback_base, service_callback_token
from kanal.store.messaging import Delivery, DeliveryEvent
from kanal.store.orm import utcnow
from kanal.store.sms import DeliveryReport
from tests.conftest import Api

WORKER = "test-sms-reports"
TWILIO_SID = "AC" + "0" * 32
GATEWAYS: dict[str, dict[str, Any]] = {
    "smsapi": {"kind": "smsapi", "token": "t0ken"},
    "twilio": {"kind": "twilio", "account_sid": TWILIO_SID, "auth_token": "twilio-token"},
    "generic": {
        "kind": "generic",
        "url": "http://127.0.0.1:9/unused",
        "report": {"statuses": {"DELIVRD": "delivered", "UNDELIV": "undelivered"}},
    },
}


@dataclass
class KanalServer:
    url: str
    container: Container

    def token(self, key: str) -> str:
        return service_callback_token(self.container.secrets, key)

    def report_url(self, key: str, delivery_id: str | None, token: str | None = None) -> str:
        """The callback URL the worker gives the provider for this delivery."""
        base = callback_base(self.container.settings.base_url, key)
        return callback_url(base, token or self.token(key), reference=delivery_id)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(container: Container, **settings: Any) -> Iterator[KanalServer]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    changed = container.settings.model_copy(
        update={"public_url": url, "sms_gateways": GATEWAYS, **settings}
    )
    served = Container(settings=changed, uows=container.uows, secrets=container.secrets)
    config = uvicorn.Config(
        create_app(served), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield KanalServer(url, served)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def fund(container: Container, tenant_id: uuid.UUID, amount_minor: int = 100_000) -> None:
    reference = f"test-{uuid.uuid4()}"
    wallet.top_up(
        container.uows, tenant_id, wallet.TopUpIn(amount_minor=amount_minor, reference=reference)
    )


def sms_client(api: Api, name: str = "Anna Nowak", phone: str = "601234567") -> str:
    response = api.post("/v1/clients", json={"name": name, "phones": [{"number": phone}]})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def compose(
    api: Api, client_id: str, text: str = "Laptop gotowy.", **fields: Any
) -> dict[str, Any]:
    """POST /v1/messages on SMS; the delivery."""
    body = {"recipient": {"client_id": client_id}, "channels": ["sms"], "text": text, **fields}
    response = api.post("/v1/messages", json=body)
    assert response.status_code == 201, response.text
    (delivery,) = response.json()["deliveries"]
    delivery["text"] = text
    return delivery  # type: ignore[no-any-return]


def take(container: Container, delivery_id: str) -> outbox.Claimed:
    """Claim this one delivery as a worker would (outbox.claim takes any due ones)."""
    with container.uows.system() as uow:
        row = uow.session.scalars(
            select(Delivery).where(Delivery.id == uuid.UUID(delivery_id))
        ).one()
        row.status = DeliveryStatus.SENDING
        row.attempts += 1
        row.claimed_by = WORKER
        row.lease_until = utcnow() + timedelta(hours=1)
        uow.session.add(
            DeliveryEvent(
                tenant_id=row.tenant_id, delivery_id=row.id, status=DeliveryStatus.SENDING,
                attempt=row.attempts, reason=WORKER,
            )
        )  # fmt: skip
        claimed = outbox.Claimed(row.id, row.tenant_id, row.attempts, row.channel)
        uow.commit()
    return claimed


def send(gateway: SmsGateway, delivery: dict[str, Any], report_url: str | None) -> str:
    """Send through a real adapter; the provider's message id."""
    message = SmsMessage(
        to=delivery["recipient"],
        sender=delivery["sender"],
        text=delivery["text"],
        idempotency_key=delivery["id"],
        callback_url=report_url,
    )

    async def go() -> Any:
        try:
            return await gateway.send(message)
        finally:
            await gateway.aclose()

    result = asyncio.run(go())
    assert isinstance(result, Sent) and result.provider_message_id, result
    return result.provider_message_id


def record(container: Container, claimed: outbox.Claimed, result: Any, gateway: str) -> str:
    """The worker's recording of the result (outbox.record, one transaction)."""
    with container.uows.system() as uow:
        outcome = outbox.Outcome(claimed, result, gateway=gateway)
        (written,) = outbox.record(uow.session, WORKER, [outcome], outbox.RetryPolicy())
        uow.commit()
    return written[1]


def delivery_row(container: Container, delivery_id: str) -> Delivery:
    with container.uows.system() as uow:
        row = uow.session.scalars(
            select(Delivery).where(Delivery.id == uuid.UUID(delivery_id))
        ).one()
        uow.session.expunge(row)  # readable after the unit of work ends
        return row


def reports_of(container: Container, provider_message_id: str) -> list[DeliveryReport]:
    with container.uows.system() as uow:
        rows = list(
            uow.session.scalars(
                select(DeliveryReport)
                .where(DeliveryReport.provider_message_id == provider_message_id)
                .order_by(DeliveryReport.created_at)
            )
        )
        uow.session.expunge_all()
        return rows


def set_created(container: Container, delivery_id: str, when: Any) -> None:
    """Test data: pretend the SMS was queued at ``when`` (for period filters)."""
    with container.uows.system() as uow:
        uow.session.execute(
            update(Delivery).where(Delivery.id == uuid.UUID(delivery_id)).values(created_at=when)
        )
        uow.commit()
