"""SMS throughput: kanal end to end through its SMSAPI adapter, beside bare HTTP client loops.

All against one fast fake SMSAPI gateway (bench/_fast_smsapi.py, a raw asyncio server in
its own process) that answers ``POST /sms.do`` like SMSAPI and remembers every idx it
accepted; after each run the bench checks that the fake accepted exactly the deliveries'
ids once each, that every delivery is sent, that 10,000 charges were written and that
the wallet's balance equals its ledger.

The floor: bare aiohttp (one ClientSession) and httpx (one AsyncClient) loops posting the
same ``sms.do`` forms with 32 requests in flight. kanal: SMS queued through the compose
service (validate, thread, price, reserve in the wallet, store message + outbox row),
then `kanal worker` processes claim, send through SmsapiGateway and record (charge).
"Queued backlog" is timed from the first SMS at the fake to the last one recorded as
sent; "end to end" from the first compose call (one in-process caller) to the same end.

    PYTHONPATH=src python bench/sms_delivery.py [--messages 10000] [--no-postgres]
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PG_ADMIN, database, kanal_env, postgres_available, python
from _fast_smsapi import TEXT, FakeSmsapi, capacity, fake_smsapi, sms_form

if TYPE_CHECKING:
    from kanal.bootstrap import Container
    from kanal.services.common import TenantInfo

IN_FLIGHT = 32
CLIENTS = 100  # reminders go to many people: one thread each, one number each


def _check_floor(fake: FakeSmsapi, count: int, label: str) -> None:
    stats = fake.stats()
    if stats["distinct"] != count or stats["duplicates"] or stats["refused"]:
        raise AssertionError(f"{label}: the fake saw {stats}, expected {count} distinct SMS")


def _headers(fake: FakeSmsapi) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {fake.token}",
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
    }


# Each loop urlencodes its form itself (work kanal has to do too) and posts the bytes:
# aiohttp's own form encoding (data=dict → FormData) costs ~120 µs a request on this
# machine, which is not the client's floor.


def floor_aiohttp(fake: FakeSmsapi, count: int) -> float:
    import aiohttp

    forms = [sms_form(i, "aiohttp") for i in range(count)]
    headers = _headers(fake)
    url = fake.url + "/sms.do"

    async def run() -> float:
        async with aiohttp.ClientSession() as http:
            shared = iter(forms)

            async def loop() -> None:
                for form in shared:
                    body = urlencode(form).encode()
                    async with http.post(url, data=body, headers=headers) as response:
                        await response.read()

            started = time.perf_counter()
            await asyncio.gather(*(loop() for _ in range(IN_FLIGHT)))
            return time.perf_counter() - started

    fake.reset()
    elapsed = asyncio.run(run())
    _check_floor(fake, count, "aiohttp floor")
    return count / elapsed


def floor_httpx(fake: FakeSmsapi, count: int) -> float:
    import httpx

    forms = [sms_form(i, "httpx") for i in range(count)]
    headers = _headers(fake)
    url = fake.url + "/sms.do"

    async def run() -> float:
        async with httpx.AsyncClient() as http:
            shared = iter(forms)

            async def loop() -> None:
                for form in shared:
                    body = urlencode(form).encode()
                    response = await http.post(url, content=body, headers=headers)
                    response.read()

            started = time.perf_counter()
            await asyncio.gather(*(loop() for _ in range(IN_FLIGHT)))
            return time.perf_counter() - started

    fake.reset()
    elapsed = asyncio.run(run())
    _check_floor(fake, count, "httpx floor")
    return count / elapsed


@dataclass
class Setup:
    container: "Container"
    tenant: "TenantInfo"
    client_ids: list[uuid.UUID]


def _gateways(fake: FakeSmsapi) -> dict[str, object]:
    return {
        "sms_gateways": {"bench": {"kind": "smsapi", "token": fake.token, "base_url": fake.url}},
        "sms_primary": "bench",
    }


def _container(url: str, fake: FakeSmsapi) -> "Container":
    os.environ["KANAL_SECRET_KEY"] = "bench"
    from kanal.bootstrap import build
    from kanal.config import Settings

    return build(Settings(database_url=url, secret_key="bench", **_gateways(fake)))  # type: ignore[arg-type]


def _setup(url: str, fake: FakeSmsapi, count: int) -> Setup:
    """A tenant with money for ``count`` SMS and CLIENTS clients with mobile numbers."""
    from kanal.services.clients import ClientIn, PhoneIn, clients
    from kanal.services.common import TenantInfo
    from kanal.services.tenants import TenantIn, create_tenant
    from kanal.services.wallet import TopUpIn, top_up
    from kanal.store import migrate

    container = _container(url, fake)
    migrate.upgrade(container.uows.engine)
    view = create_tenant(container.uows, TenantIn(name="Bench Serwis"))
    tenant = TenantInfo(view.id, view.name, view.locale, view.timezone, view.phone_region)
    # Enough for every SMS at the price list's dearest rate and max size, with room to spare.
    top_up(container.uows, tenant.id, TopUpIn(amount_minor=count * 6 * 40, reference="bench"))
    ids = [
        clients.create(
            container.uows.for_tenant(tenant.id),
            tenant,
            ClientIn(name=f"Klient {i}", phones=[PhoneIn(number=f"601 234 {i:03d}")]),
        ).id
        for i in range(CLIENTS)
    ]
    return Setup(container, tenant, ids)


def _compose(setup: Setup, count: int) -> float:
    """Queue ``count`` SMS through the compose service, one call each; the seconds it took."""
    from kanal.services.recipients import RecipientIn
    from kanal.services.send import SendRequest, send_message

    container = setup.container
    requests = [
        SendRequest(recipient=RecipientIn(client_id=client_id), channels=["sms"], text=TEXT)
        for client_id in setup.client_ids
    ]
    settings = container.settings
    started = time.perf_counter()
    for i in range(count):
        send_message(
            container.uows.for_tenant(setup.tenant.id),
            setup.tenant,
            requests[i % len(requests)],
            settings.mail_domain,
            sms_sender=settings.sms_default_sender,
        )
    return time.perf_counter() - started


def _sent_count(setup: Setup) -> int:
    from sqlalchemy import func, select

    from kanal.store.messaging import Delivery

    with setup.container.uows.system() as uow:
        return int(
            uow.session.scalar(
                select(func.count()).where(Delivery.channel == "sms", Delivery.status == "sent")
            )
            or 0
        )


class Workers:
    """``kanal worker`` processes against one database and the fake; stopped on exit."""

    def __init__(self, url: str, fake: FakeSmsapi, count: int) -> None:
        self.env = kanal_env(
            url,
            1,  # no SMTP here; the SMS go to the fake SMSAPI
            KANAL_SMS_GATEWAYS=json.dumps(_gateways(fake)["sms_gateways"]),
            KANAL_SMS_PRIMARY="bench",
        )
        self.count = count
        self.procs: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []

    def __enter__(self) -> "Workers":
        for _ in range(self.count):
            log = tempfile.TemporaryFile()  # the worker's stderr, shown if it dies
            cmd = [python(), "-m", "kanal", "worker"]
            self.procs.append((subprocess.Popen(cmd, env=self.env, stderr=log), log))
        return self

    def check_alive(self) -> None:
        for proc, log in self.procs:
            if proc.poll() is not None:
                log.seek(0)
                tail = log.read()[-2000:].decode(errors="replace")
                raise RuntimeError(f"a kanal worker exited ({proc.returncode}):\n{tail}")

    def __exit__(self, *exc: object) -> None:
        for proc, _ in self.procs:
            proc.terminate()
        for proc, log in self.procs:
            proc.wait(30)
            log.close()


def _wait(fake: FakeSmsapi, setup: Setup, workers: Workers, count: int) -> tuple[float, float]:
    """(when the fake accepted its first SMS, when the last one was recorded as sent)."""
    deadline = time.monotonic() + 1800
    first = None
    while fake.accepted.value < count:
        if first is None and fake.accepted.value > 0:
            first = time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {fake.accepted.value} of {count} SMS reached the fake")
        workers.check_alive()
        time.sleep(0.005)
    first = first or time.monotonic()
    while _sent_count(setup) < count:  # the workers still record the last results
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {_sent_count(setup)} of {count} SMS recorded as sent")
        workers.check_alive()
        time.sleep(0.02)
    return first, time.monotonic()


def _check(fake: FakeSmsapi, setup: Setup, count: int, label: str) -> int:
    """Each SMS went out exactly once, is recorded as sent, and was paid for exactly once.

    Returns the connections the fake saw (a handful per worker = keep-alive works)."""
    from sqlalchemy import func, select

    from kanal.services.wallet import CHARGE, ledger_sum
    from kanal.store.messaging import Delivery
    from kanal.store.sms import Wallet, WalletEntry

    stats = fake.stats()
    accepted = fake.accepted_idx()
    tenant_id = setup.tenant.id
    with setup.container.uows.system() as uow:
        session = uow.session
        sms = Delivery.channel == "sms"
        deliveries = {str(d) for d in session.scalars(select(Delivery.id).where(sms))}
        statuses = dict(
            session.execute(
                select(Delivery.status, func.count()).where(sms).group_by(Delivery.status)
            ).all()
        )
        balance = session.scalar(select(Wallet.balance_minor).where(Wallet.tenant_id == tenant_id))
        ledger = ledger_sum(session, [tenant_id]).get(tenant_id)
        charges = session.scalar(
            select(func.count()).where(
                WalletEntry.kind == CHARGE, WalletEntry.tenant_id == tenant_id
            )
        )
    problems = []
    if stats["distinct"] != count or stats["duplicates"] or stats["refused"]:
        problems.append(f"the fake saw {stats}")
    if {str(uuid.UUID(i)) for i in accepted} != deliveries:
        problems.append("the accepted idx are not exactly the deliveries' ids")
    if statuses != {"sent": count}:
        problems.append(f"delivery statuses {statuses}")
    if balance != ledger:
        problems.append(f"balance {balance} != ledger sum {ledger}")
    if charges != count:
        problems.append(f"{charges} charges written")
    if problems:
        raise AssertionError(f"{label}: " + "; ".join(problems))
    return int(stats["connections"]) - 1  # the stats call itself


@contextmanager
def _backlogs(kind: str, fake: FakeSmsapi, count: int, runs: int) -> Iterator[Iterator[Setup]]:
    """``runs`` databases, each with the same ``count`` SMS queued (composed once).

    Composing is slow next to sending; on PostgreSQL the queued database is composed
    once and copied (CREATE DATABASE … TEMPLATE) for each worker count.
    """
    if kind == "sqlite" and runs != 1:
        raise ValueError("SQLite takes one worker, so one backlog run")
    with database(kind) as url:
        setup = _setup(url, fake, count)
        _compose(setup, count)
        if runs == 1:
            try:
                yield iter([setup])
            finally:
                setup.container.close()
            return
        setup.container.close()  # a template must have no sessions
        import psycopg

        base, template = url.rsplit("/", 1)
        copies: list[tuple[str, Container]] = []

        def each() -> Iterator[Setup]:
            for i in range(runs):
                name = f"{template}_{i}"
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
                copies.append((name, _container(f"{base}/{name}", fake)))
                yield Setup(copies[-1][1], setup.tenant, setup.client_ids)

        try:
            yield each()
        finally:
            for name, container in copies:
                container.close()
                with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def drain(
    setup: Setup, fake: FakeSmsapi, workers: int, count: int, label: str
) -> tuple[float, int]:
    """(SMS/s, connections) of ``workers`` processes on a queued backlog: from the first SMS
    at the fake (worker start-up is not throughput) to the last one recorded as sent."""
    fake.reset()
    with Workers(setup.container.settings.database_url, fake, workers) as procs:
        started, finished = _wait(fake, setup, procs, count)
    connections = _check(fake, setup, count, label)
    return count / (finished - started), connections


def end_to_end(kind: str, fake: FakeSmsapi, workers: int, count: int) -> tuple[float, float, int]:
    """(SMS/s from the first compose call to the last SMS recorded as sent, compose-only
    SMS/s, connections), composing in this process while the workers deliver."""
    fake.reset()
    with database(kind) as url:
        setup = _setup(url, fake, count)
        try:
            with Workers(url, fake, workers) as procs:
                time.sleep(1.5)  # let the workers import and connect
                procs.check_alive()
                started = time.monotonic()
                compose_seconds = _compose(setup, count)
                _, finished = _wait(fake, setup, procs, count)
            connections = _check(fake, setup, count, f"{kind}, {workers} worker(s), end to end")
        finally:
            setup.container.close()
    return count / (finished - started), count / compose_seconds, connections


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    n = args.messages
    started = time.monotonic()
    with fake_smsapi() as fake:
        client_rate, fake_rate = capacity(fake, 20_000)
        print(
            f"fake SMSAPI: {client_rate:7.0f} req/s to a raw asyncio client ({IN_FLIGHT} in "
            f"flight); its own CPU: {1e6 / fake_rate:.0f} µs/request ≈ {fake_rate:.0f} req/s a core"
        )
        floors = {
            "aiohttp": floor_aiohttp(fake, n),
            "httpx": floor_httpx(fake, min(n, 3000)),
        }
        for name, rate in floors.items():
            print(f"floor  bare {name} loop, {IN_FLIGHT} in flight, keep-alive  {rate:7.0f} req/s")
        best = max(floors.values())
        runs = [("sqlite", 1)]
        if not args.no_postgres and postgres_available():
            runs += [("postgres", 1), ("postgres", 2), ("postgres", 4)]
        rows: list[tuple[str, float, str]] = []

        def row(label: str, rate: float, extra: str = "") -> None:
            rows.append((label, rate, extra))
            print(f"kanal  {label:<40} {rate:7.0f} SMS/s  {rate / best:5.2f}x floor  {extra}")

        for kind in dict.fromkeys(kind for kind, _ in runs):
            db = "SQLite" if kind == "sqlite" else "PostgreSQL"
            counts = [w for k, w in runs if k == kind]
            with _backlogs(kind, fake, n, len(counts)) as backlogs:
                for workers, setup in zip(counts, backlogs, strict=True):
                    label = f"{db}, {workers} worker(s), queued backlog"
                    rate, connections = drain(setup, fake, workers, n, label)
                    row(label, rate, f"{connections} connections")
            for workers in counts:
                rate, compose, connections = end_to_end(kind, fake, workers, n)
                extra = f"{connections} connections; compose alone {compose:.0f}/s"
                row(f"{db}, {workers} worker(s), end to end", rate, extra)
    print()
    print(f"| {n:,} SMS, all checked sent once and charged once | SMS/s | × fastest floor |")
    print("|---|---:|---:|")
    for name, rate in floors.items():
        print(
            f"| floor: bare {name} loop, {IN_FLIGHT} in flight | {rate:,.0f} | {rate / best:.2f} |"
        )
    for label, rate, extra in rows:
        print(
            f"| kanal: {label}{f' ({extra})' if extra else ''} | {rate:,.0f} | {rate / best:.2f} |"
        )
    print(f"\n({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
