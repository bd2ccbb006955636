"""Helpers for tests that send SMS through the worker: queue them by the API, run workers,
look at deliveries and the wallet ledger."""

import asyncio
import json
import secrets
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from kanal.bootstrap import Container
from kanal.services import wallet
from kanal.services.sms_gateways import service_callback_token, tenant_gateway_key
from kanal.store.messaging import Delivery
from kanal.store.orm import utcnow
from kanal.store.sms import SmsGatewayAccount, SmsSettings, Wallet, WalletEntry
from kanal.worker import Worker
from tests.conftest import Api

PUBLIC_URL = "https://kanal.example.test"


def make_worker(container: Container, **settings: Any) -> Worker:
    changed = container.settings.model_copy(update={"public_url": PUBLIC_URL, **settings})
    return Worker(Container(settings=changed, uows=container.uows, secrets=container.secrets))


def drain(worker: Worker, rounds: int = 20) -> int:
    """Run batches until nothing is due; the worker (and its gateway health) stays usable."""

    async def go() -> int:
        total = 0
        try:
            for _ in range(rounds):
                handled = await worker.run_once()
                total += handled
                if handled == 0:
                    break
        finally:
            await worker.smtp.aclose()
            await worker.sms.aclose()
        return total

    return asyncio.run(go())


def top_up(container: Container, tenant_id: uuid.UUID, amount_minor: int = 100_00) -> None:
    data = wallet.TopUpIn(amount_minor=amount_minor, reference=f"test-{secrets.token_hex(6)}")
    wallet.top_up(container.uows, tenant_id, data)


def sms_client(api: Api, number: str = "+48601234567") -> dict[str, Any]:
    body = {"name": "Anna Nowak", "phones": [{"number": number}]}
    response = api.post("/v1/clients", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def send_sms(api: Api, client: dict[str, Any], text: str = "Laptop gotowy do odbioru.") -> str:
    """Queue one SMS by the API; its delivery id."""
    body = {"recipient": {"client_id": client["id"]}, "channels": ["sms"], "text": text}
    response = api.post("/v1/messages", json=body)
    assert response.status_code == 201, response.text
    [delivery] = [d for d in response.json()["deliveries"] if d["channel"] == "sms"]
    return str(delivery["id"])


def delivery(container: Container, delivery_id: str) -> Delivery:
    with container.uows.system() as uow:
        row = uow.session.get(Delivery, uuid.UUID(delivery_id))
        assert row is not None
        uow.session.expunge(row)
        return row


def make_due(container: Container, ids: list[str]) -> None:
    """Retries are due now (instead of after their backoff)."""
    with container.uows.system() as uow:
        uow.session.execute(
            update(Delivery)
            .where(Delivery.id.in_([uuid.UUID(i) for i in ids]))
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
        uow.commit()


def ledger(container: Container, delivery_id: str) -> list[tuple[str, int]]:
    """The wallet entries of one delivery, as (kind, amount) sorted by kind."""
    with container.uows.system() as uow:
        rows = uow.session.execute(
            select(WalletEntry.kind, WalletEntry.amount_minor).where(
                WalletEntry.delivery_id == uuid.UUID(delivery_id)
            )
        ).all()
    return sorted((kind, amount) for kind, amount in rows)


def balance(container: Container, tenant_id: uuid.UUID) -> int:
    """The wallet's balance, after checking it equals the ledger's sum."""
    with container.uows.system() as uow:
        value = uow.session.scalar(
            select(Wallet.balance_minor).where(Wallet.tenant_id == tenant_id)
        )
        total = uow.session.scalar(
            select(func.coalesce(func.sum(WalletEntry.amount_minor), 0)).where(
                WalletEntry.tenant_id == tenant_id
            )
        )
    assert value == total, f"balance {value} != ledger sum {total}"
    return int(value or 0)


def tenant_gateway(
    container: Container, tenant_id: uuid.UUID, name: str, kind: str, config: dict[str, Any],
    *, primary: bool = True,
) -> tuple[str, str]:  # fmt: skip
    """A tenant's own gateway account, chosen as its primary (or secondary); (key, token)."""
    token = secrets.token_urlsafe(24)
    with container.uows.for_tenant(tenant_id) as uow:
        account = SmsGatewayAccount(
            tenant_id=tenant_id,
            name=name,
            kind=kind,
            config_encrypted=container.secrets.seal(json.dumps(config)),
            callback_token=token,
        )
        uow.session.add(account)
        settings = uow.session.scalars(select(SmsSettings)).first()
        if settings is None:
            settings = SmsSettings(tenant_id=tenant_id)
            uow.session.add(settings)
        if primary:
            settings.primary_gateway = name
        else:
            settings.secondary_gateway = name
        uow.session.flush()
        key = tenant_gateway_key(account.id)
        uow.commit()
    return key, token


def service_token(container: Container, key: str) -> str:
    return service_callback_token(container.secrets, key)
