"""Email throughput: kanal end to end beside a bare aiosmtplib loop, against one aiosmtpd sink.

kanal end to end = service call (validate, thread, store message + outbox row) → a
`kanal worker` process claims, renders, sends over SMTP and records. The floor is a
bare aiosmtplib loop sending the same kind of pre-built messages over one reused
connection to the same sink, measured in the same run.

    PYTHONPATH=src python bench/email_delivery.py [--messages 10000] [--no-postgres]
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    database,
    free_port,
    kanal_env,
    postgres_available,
    python,
    smtp_sink,
)

TEXT = "Dzień dobry, Pani laptop jest gotowy do odbioru w naszym serwisie. Zapraszamy! " * 3


def floor(port: int, count: int) -> float:
    import aiosmtplib

    messages = []
    for i in range(count):
        msg = EmailMessage()
        msg["From"] = "serwis@mail.kanal.localhost"
        msg["To"] = "anna@example.com"
        msg["Subject"] = "Naprawa N/1001/2026"
        msg["Message-ID"] = f"<floor-{i}@mail.kanal.localhost>"
        msg.set_content(TEXT)
        messages.append(msg.as_bytes())

    async def run() -> float:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await smtp.connect()
        started = time.perf_counter()
        for raw in messages:
            await smtp.sendmail("serwis@mail.kanal.localhost", ["anna@example.com"], raw)
        elapsed = time.perf_counter() - started
        await smtp.quit()
        return count / elapsed

    return asyncio.run(run())


def _setup(url: str) -> tuple[object, object, object]:
    os.environ["KANAL_SECRET_KEY"] = "bench"
    from kanal.bootstrap import build
    from kanal.config import Settings
    from kanal.services.clients import ClientIn, EmailIn, clients
    from kanal.services.common import TenantInfo
    from kanal.services.tenants import TenantIn, create_tenant
    from kanal.store import migrate

    container = build(Settings(database_url=url, secret_key="bench"))
    migrate.upgrade(container.uows.engine)
    view = create_tenant(container.uows, TenantIn(name="Bench Serwis"))
    tenant = TenantInfo(view.id, view.name, view.locale, view.timezone, view.phone_region)
    client = clients.create(
        container.uows.for_tenant(tenant.id),
        tenant,
        ClientIn(name="Anna Nowak", emails=[EmailIn(address="anna@example.com")]),
    )
    return container, tenant, client


def _compose(container: object, tenant: object, client: object, count: int) -> float:
    from kanal.services.recipients import RecipientIn
    from kanal.services.send import SendRequest, send_message

    request = SendRequest(
        recipient=RecipientIn(client_id=client.id),  # type: ignore[attr-defined]
        channels=["email"],
        subject="Naprawa N/1001/2026",
        text=TEXT,
    )
    started = time.perf_counter()
    for _ in range(count):
        send_message(
            container.uows.for_tenant(tenant.id),  # type: ignore[attr-defined]
            tenant,  # type: ignore[arg-type]
            request,
            "mail.kanal.localhost",
        )
    return time.perf_counter() - started


def _wait(received: object, count: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while received.value < count:  # type: ignore[attr-defined]
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {received.value} of {count} arrived")  # type: ignore[attr-defined]
        time.sleep(0.01)
    return time.monotonic()


def kanal_run(
    kind: str, workers: int, count: int, port: int, received: object, prequeue: bool
) -> tuple[float, float]:
    """(messages/s end to end, compose-only messages/s)."""
    with database(kind) as url:
        container, tenant, client = _setup(url)
        env = kanal_env(url, port)
        base = received.value  # type: ignore[attr-defined]
        procs: list[subprocess.Popen[bytes]] = []

        def start_workers() -> None:
            for _ in range(workers):
                procs.append(
                    subprocess.Popen(
                        [python(), "-m", "kanal", "worker"], env=env, stderr=subprocess.DEVNULL
                    )
                )

        try:
            if prequeue:
                compose_seconds = _compose(container, tenant, client, count)
                started = time.monotonic()
                start_workers()
            else:
                start_workers()
                time.sleep(1.5)  # let the workers import and connect
                started = time.monotonic()
                compose_seconds = _compose(container, tenant, client, count)
            finished = _wait(received, base + count, timeout=600)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(30)
            container.close()  # type: ignore[attr-defined]
        return count / (finished - started), count / compose_seconds


def latency(port: int, log_path: str, rate: float, seconds: float) -> tuple[float, float]:
    """p50 and p99 from POST /v1/messages to arrival at the sink, at a steady offered load."""
    import aiohttp

    with database("sqlite") as url:
        container, tenant, client = _setup(url)
        from kanal.services.tenants import create_api_key

        key = create_api_key(container.uows, tenant.id, "bench").key  # type: ignore[attr-defined]
        http_port = free_port()
        env = kanal_env(url, port)
        server = subprocess.Popen(
            [python(), "-m", "kanal", "serve", "--port", str(http_port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        sent: dict[str, float] = {}

        async def run() -> None:
            headers = {"Authorization": f"Bearer {key}"}
            body = {"recipient": {"client_id": str(client.id)}, "channels": ["email"], "text": TEXT}  # type: ignore[attr-defined]
            async with aiohttp.ClientSession(
                f"http://127.0.0.1:{http_port}", headers=headers
            ) as http:
                for _ in range(100):
                    try:
                        async with http.get("/healthz"):
                            break
                    except aiohttp.ClientError:
                        await asyncio.sleep(0.1)

                async def post() -> None:
                    started = time.time()
                    async with http.post("/v1/messages", json=body) as response:
                        data = await response.json()
                        sent[data["email_message_id"]] = started

                tasks = []
                total = int(rate * seconds)
                t0 = time.monotonic()
                for i in range(total):
                    await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
                    tasks.append(asyncio.create_task(post()))
                await asyncio.gather(*tasks)

        try:
            asyncio.run(run())
            deadline = time.monotonic() + 60
            arrived: dict[str, float] = {}
            while time.monotonic() < deadline and len(arrived) < len(sent):
                time.sleep(0.2)
                for line in Path(log_path).read_text().splitlines():
                    when, message_id = line.split(" ", 1)
                    arrived[message_id] = float(when)
        finally:
            server.terminate()
            server.wait(30)
            container.close()  # type: ignore[attr-defined]
        waits = sorted(arrived[m] - t for m, t in sent.items() if m in arrived)
        p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
        return statistics.median(waits), p99


def row(label: str, rate: float, floor_rate: float, extra: str = "") -> None:
    print(f"kanal  {label:<44} {rate:7.0f} msg/s  {rate / floor_rate:5.2f}x floor  {extra}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--latency-only", action="store_true")
    args = parser.parse_args()
    if not args.latency_only:
        throughput(args.messages, postgres=not args.no_postgres)
    latencies()


def throughput(n: int, postgres: bool) -> None:
    with smtp_sink() as (port, received):
        floor_rate = floor(port, min(n, 5000))
        print(f"floor  {'bare aiosmtplib loop, 1 reused connection':<44} {floor_rate:7.0f} msg/s")
        e2e, compose = kanal_run("sqlite", 1, n, port, received, prequeue=False)
        row("SQLite, 1 worker, end to end", e2e, floor_rate, f"(compose alone {compose:.0f}/s)")
        drain, _ = kanal_run("sqlite", 1, n, port, received, prequeue=True)
        row("SQLite, 1 worker, queued backlog", drain, floor_rate)
        if postgres and postgres_available():
            for workers in (1, 2, 4):
                e2e, compose = kanal_run("postgres", workers, n, port, received, prequeue=False)
                drain, _ = kanal_run("postgres", workers, n, port, received, prequeue=True)
                row(
                    f"PostgreSQL, {workers} worker(s), end to end",
                    e2e,
                    floor_rate,
                    f"(compose alone {compose:.0f}/s)",
                )
                row(f"PostgreSQL, {workers} worker(s), queued backlog", drain, floor_rate)


def latencies() -> None:
    for rate in (100, 200):
        log_path = f"/tmp/kanal-bench-arrivals-{os.getpid()}-{rate}.log"
        with smtp_sink(log_path) as (port, _received):
            p50, p99 = latency(port, log_path, rate=rate, seconds=10)
            print(
                f"kanal  POST /v1/messages → at the sink, {rate} msg/s offered "
                f"(`kanal serve`, SQLite): p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
            )
        Path(log_path).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
