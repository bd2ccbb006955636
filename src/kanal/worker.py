"""The worker: claims due deliveries, runs their channels, records the results.

One loop per process. Database work runs in threads (SQLAlchemy is synchronous);
sending is asynchronous with many deliveries in flight. Each batch goes
claim+prepare (one transaction) → send (concurrently) → record (one transaction).
On PostgreSQL workers wake on NOTIFY; otherwise on an in-process nudge or a short poll.
"""

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable, Sequence

from prometheus_client import Counter, Histogram

from kanal.bootstrap import Container
from kanal.channels.base import DeliveryResult, Failed, RetryLater, Sent
from kanal.channels.smtp import SmtpChannel, SmtpSettings
from kanal.channels.webhook import WebhookChannel
from kanal.core.vocab import Channel
from kanal.services import outbox, prepare, webhooks
from kanal.sms_sender import SmsSender
from kanal.store.db import listen_for_outbox, sqlite_worker_lock
from kanal.store.messaging import CapturedMail

log = logging.getLogger("kanal.worker")

DELIVERIES = Counter(
    "kanal_deliveries_total", "Delivery attempts by outcome", ["channel", "status"]
)
RETRIES = Counter("kanal_retries_total", "Attempts that will be retried", ["channel"])
RECLAIMS = Counter("kanal_lease_reclaims_total", "Deliveries reclaimed after a worker died")
SEND_SECONDS = Histogram(
    "kanal_send_seconds",
    "Time a channel took to send",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class _GroupCommit:
    """Commits outcomes as they arrive; whatever arrived meanwhile shares one transaction."""

    LINGER = 0.01  # seconds a small group waits for company
    ENOUGH = 32  # a group this big commits at once

    def __init__(
        self, write: Callable[[Sequence[outbox.Outcome], Sequence[outbox.Claimed]], None]
    ) -> None:
        self._write = write
        self._pending: list[tuple[outbox.Outcome, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._loop())

    async def submit(self, outcome: outbox.Outcome) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((outcome, future))
        self._wake.set()
        await future

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            if len(self._pending) < self.ENOUGH and not self._closed:
                # Results come in a stream: a few ms of waiting makes one commit of many,
                # and a commit costs far more than a row.
                await asyncio.sleep(self.LINGER)
            self._wake.clear()
            batch, self._pending = self._pending, []
            if batch:
                try:
                    await asyncio.to_thread(self._write, [o for o, _ in batch], [])
                except Exception as exc:  # noqa: BLE001 - the senders see it; leases protect the rows
                    for _, future in batch:
                        future.set_exception(exc)
                else:
                    for _, future in batch:
                        future.set_result(None)
            if self._closed and not self._pending:
                return

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        await self._task


def relay_settings(container: Container) -> SmtpSettings | None:
    s = container.settings
    if not s.smtp_host:
        return None
    return SmtpSettings(
        host=s.smtp_host,
        port=s.smtp_port,
        security=s.smtp_security,  # type: ignore[arg-type]
        username=s.smtp_username,
        password=s.smtp_password,
        auth=s.smtp_auth,  # type: ignore[arg-type]
        helo_name=s.smtp_helo_name,
        validate_certs=s.smtp_validate_certs,
    )


class Worker:
    def __init__(self, container: Container, worker_id: str | None = None) -> None:
        self.container = container
        self.settings = container.settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.smtp = SmtpChannel()
        self.webhook_channel = WebhookChannel()
        self.sms = SmsSender(self.settings)
        self.setup = prepare.MailSetup(
            mail_domain=self.settings.mail_domain,
            relay=relay_settings(container),
            secrets=container.secrets,
            base_url=self.settings.base_url,
            sms_gateways=self.settings.sms_gateways,
            sms_primary=self.settings.sms_primary,
            sms_secondary=self.settings.sms_secondary,
        )
        self.policy = outbox.RetryPolicy(
            max_attempts=self.settings.max_attempts,
            base_seconds=self.settings.retry_base_seconds,
            cap_seconds=self.settings.retry_cap_seconds,
        )
        self.stopping = asyncio.Event()
        self._held: dict[object, tuple[outbox.Claimed, float]] = {}
        self.refused = False  # another worker held the SQLite database
        self._renewed_at = 0.0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def nudge(self) -> None:
        """Thread-safe: something was queued, look now."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    # --- one batch -------------------------------------------------------------------

    def _claim_and_prepare(self) -> list[prepare.Work]:
        with self.container.uows.system() as uow:
            claimed, reclaimed = outbox.claim(
                uow.session,
                self.worker_id,
                self.settings.worker_batch,
                self.settings.lease_seconds,
                self.settings.max_attempts,
            )
            if reclaimed:
                RECLAIMS.inc(reclaimed)
                log.warning("reclaimed %d deliveries with expired leases", reclaimed)
            work = prepare.prepare(uow.session, claimed, self.setup) if claimed else []
            uow.commit()
        now = time.monotonic()
        for item in claimed:
            self._held[item.delivery_id] = (item, now)
        return work

    def _record(self, outcomes: Sequence[outbox.Outcome], unsent: Sequence[outbox.Claimed]) -> None:
        for attempt in range(3):  # a busy database must not cost the results
            try:
                with self.container.uows.system() as uow:
                    written = outbox.record(uow.session, self.worker_id, outcomes, self.policy)
                    outbox.release(uow.session, self.worker_id, unsent)
                    uow.commit()
                break
            except Exception:
                if attempt == 2:
                    raise
                log.warning("recording results failed; retrying", exc_info=True)
                time.sleep(0.2 * (attempt + 1))
        for item in [*(o.claimed for o in outcomes), *unsent]:
            self._held.pop(item.delivery_id, None)
        for outcome, status in written:
            DELIVERIES.labels(outcome.claimed.channel, status).inc()
            if status == "queued":
                RETRIES.labels(outcome.claimed.channel).inc()
            result = outcome.result
            log.log(
                logging.DEBUG if status in ("sent", "delivered") else logging.INFO,
                "delivery %s: %s%s",
                outcome.claimed.delivery_id,
                status,
                "" if isinstance(result, Sent) else f" ({result.code}: {result.reason})",
                extra={
                    "tenant_id": outcome.claimed.tenant_id,
                    "delivery_id": outcome.claimed.delivery_id,
                    "message_id": outcome.message_id,
                    "channel": outcome.claimed.channel,
                    "status": status,
                    "code": None if isinstance(result, Sent) else result.code,
                    "worker_id": self.worker_id,
                },
            )

    async def _run(self, work: prepare.Work) -> outbox.Outcome:
        if work.failed is not None:
            return outbox.Outcome(work.claimed, work.failed, message_id=work.message_id)
        if work.portal_client_id is not None:
            return outbox.Outcome(
                work.claimed,
                Sent(),
                portal_client_id=work.portal_client_id,
                message_id=work.message_id,
            )
        if work.channel == Channel.SMS and work.sms is not None:
            started = time.perf_counter()
            outcome = await self.sms.send(work)
            SEND_SECONDS.labels(work.channel).observe(time.perf_counter() - started)
            return outcome
        envelope = work.envelope
        if envelope is None:
            return outbox.Outcome(
                work.claimed, Failed("nothing_to_send", work.channel), message_id=work.message_id
            )
        if work.smtp is None and not self.settings.dev_outbox:
            failed = Failed("smtp_config", "no SMTP relay is configured for this account")
            return outbox.Outcome(work.claimed, failed, message_id=work.message_id)
        if work.smtp is None:
            capture = CapturedMail(
                tenant_id=work.claimed.tenant_id,
                channel=work.channel,
                sender=envelope.mail_from,
                recipients=", ".join(envelope.recipients),
                subject=work.subject,
                raw=envelope.message,
            )
            return outbox.Outcome(
                work.claimed,
                Sent(detail="captured by the dev outbox"),
                capture=capture,
                message_id=work.message_id,
            )
        started = time.perf_counter()
        result: DeliveryResult
        try:
            result = await self.smtp.send(work.smtp, envelope)
        except Exception as exc:  # an adapter bug must not lose the delivery
            log.exception("smtp adapter raised on delivery %s", work.claimed.delivery_id)
            result = RetryLater("adapter_error", repr(exc))
        SEND_SECONDS.labels(work.channel).observe(time.perf_counter() - started)
        return outbox.Outcome(work.claimed, result, message_id=work.message_id)

    async def run_once(self) -> int:
        """Claim, send and record one batch; the number of deliveries handled.

        A slot is held from the send until its result is committed, so at most
        ``worker_concurrency`` deliveries are ever sent-but-unrecorded: that bounds the
        duplicates a killed worker can cause. Results that finish together are
        committed together (group commit), so the database keeps up with the sends.
        """
        return await self._deliver(await asyncio.to_thread(self._claim_and_prepare))

    async def _deliver(self, work: list[prepare.Work]) -> int:
        if not work:
            return 0
        slots = asyncio.Semaphore(self.settings.worker_concurrency)
        recorder = _GroupCommit(self._record)
        unsent: list[outbox.Claimed] = []

        async def deliver(item: prepare.Work) -> bool:
            async with slots:
                if self.stopping.is_set() or not self._lease_fresh(item.claimed):
                    unsent.append(item.claimed)  # not started: give it back
                    return False
                await recorder.submit(await self._run(item))
                return True

        # Every delivery finishes (or fails) before the recorder closes: no result is left
        # waiting on a closed recorder.
        results = await asyncio.gather(*(deliver(item) for item in work), return_exceptions=True)
        await recorder.close()
        if unsent:
            await asyncio.to_thread(self._record, [], unsent)
        for failure in (r for r in results if isinstance(r, BaseException)):
            log.error("a delivery of the batch failed to record", exc_info=failure)
        return sum(r is True for r in results)

    def _lease_fresh(self, claimed: outbox.Claimed) -> bool:
        """Never send on a lease that may have run out: another worker may hold it now."""
        held = self._held.get(claimed.delivery_id)
        renewed = max(held[1] if held else 0.0, self._renewed_at)
        return time.monotonic() - renewed < self.settings.lease_seconds * 0.75

    def _renew(self) -> None:
        held = [item for item, _ in self._held.values()]
        with self.container.uows.system() as uow:
            outbox.renew(uow.session, self.worker_id, held, self.settings.lease_seconds)
            uow.commit()

    async def _heartbeat(self) -> None:
        """Keep the leases of everything in hand alive while it waits for its turn."""
        while not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), self.settings.lease_seconds / 4)
            if self._held:
                started = time.monotonic()
                try:
                    await asyncio.to_thread(self._renew)
                    self._renewed_at = started
                except Exception:  # the next beat tries again; _lease_fresh stops sending
                    log.warning("lease renewal failed", exc_info=True)

    # --- the loop ----------------------------------------------------------------------

    async def run(self) -> None:
        lock = sqlite_worker_lock(self.settings.database_url)
        if lock is None:
            log.error("another worker already runs on this SQLite database; not starting")
            self.refused = True
            return
        try:
            await self._run_loop()
        finally:
            if hasattr(lock, "close"):
                lock.close()

    async def _run_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        listener = asyncio.create_task(self._listen())
        hooks = asyncio.create_task(self._webhook_loop())
        heartbeat = asyncio.create_task(self._heartbeat())
        log.info("worker %s started", self.worker_id)
        # The next batch is claimed and rendered while this one is being sent.
        next_batch: asyncio.Task[list[prepare.Work]] | None = None
        try:
            while not self.stopping.is_set():
                try:
                    pending, next_batch = next_batch, None
                    work = await (pending or asyncio.to_thread(self._claim_and_prepare))
                    if work:
                        next_batch = asyncio.create_task(asyncio.to_thread(self._claim_and_prepare))
                    handled = await self._deliver(work)
                except Exception:  # keep the loop alive; leases protect the rows
                    log.exception("worker batch failed")
                    handled = 0
                if handled == 0:
                    self._wake.clear()
                    stop = asyncio.create_task(self.stopping.wait())
                    wake = asyncio.create_task(self._wake.wait())
                    await asyncio.wait(
                        {stop, wake},
                        timeout=self.settings.poll_seconds,
                        return_when="FIRST_COMPLETED",
                    )
                    for task in (stop, wake):
                        task.cancel()
        finally:
            if next_batch is not None:  # claimed but never started: give it back
                prefetched = await next_batch
                await asyncio.to_thread(self._record, [], [w.claimed for w in prefetched])
            listener.cancel()
            await asyncio.gather(hooks, heartbeat, return_exceptions=True)
            await self.webhook_channel.aclose()
            await self.smtp.aclose()
            await self.sms.aclose()
            log.info("worker %s stopped", self.worker_id)

    def _claim_events(self) -> list[webhooks.EventJob]:
        with self.container.uows.system() as uow:
            jobs = webhooks.claim_events(
                uow.session, self.worker_id, 100, self.settings.lease_seconds
            )
            uow.commit()
            return jobs

    def _record_events(self, results: list[tuple[webhooks.EventJob, DeliveryResult]]) -> None:
        with self.container.uows.system() as uow:
            webhooks.record_events(
                uow.session,
                results,
                self.policy.max_attempts,
                self.policy.base_seconds,
                self.policy.cap_seconds,
            )
            uow.commit()

    async def run_webhooks_once(self) -> int:
        jobs = await asyncio.to_thread(self._claim_events)
        if not jobs:
            return 0
        results = await asyncio.gather(
            *(self.webhook_channel.post(job.url, job.body, job.headers) for job in jobs)
        )
        await asyncio.to_thread(self._record_events, list(zip(jobs, results, strict=True)))
        return len(jobs)

    async def _webhook_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                handled = await self.run_webhooks_once()
            except Exception:  # keep the webhook loop alive
                log.exception("webhook batch failed")
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), self.settings.poll_seconds)

    async def _listen(self) -> None:
        """Wake on PostgreSQL NOTIFY (no-op elsewhere); reconnect if the connection drops."""
        while not self.stopping.is_set():
            try:
                await listen_for_outbox(self.container.settings.database_url, self._wake.set)
                return
            except Exception:  # any lost LISTEN connection is retried
                log.warning("outbox LISTEN connection lost; retrying", exc_info=True)
                await asyncio.sleep(1)


def run_forever(container: Container) -> None:
    """`kanal worker`: run until SIGTERM or SIGINT, then finish or release the batch."""

    async def main() -> None:
        worker = Worker(container)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stopping.set)
        await worker.run()
        if worker.refused:
            raise SystemExit(1)

    asyncio.run(main())
