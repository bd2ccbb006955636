"""The FastAPI application, built around a container (never at import time)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI

from kanal import __version__
from kanal.api import errors, ops
from kanal.api.deps import KeyCache
from kanal.api.routes import (
    callbacks,
    directory,
    messaging,
    operator,
    reports,
    senders,
    settings,
    sms,
    tenant,
)
from kanal.bootstrap import Container
from kanal.web import dev_outbox


def create_app(container: Container, *, run_worker: bool = False) -> FastAPI:
    """The API; with ``run_worker`` an in-process worker runs beside it (``kanal serve``)."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if not run_worker:
            yield
            return
        from kanal.worker import Worker  # API-only processes need no channel adapters

        worker = Worker(container)
        container.wakeups.append(worker.nudge)
        task = asyncio.create_task(worker.run())
        try:
            yield
        finally:
            worker.stopping.set()  # finish or release the batch in hand
            await task
            container.wakeups.remove(worker.nudge)

    app = FastAPI(
        title="kanal",
        version=__version__,
        summary="One hub for SMS, email, the portal inbox and messengers, threaded by order.",
        lifespan=lifespan,
    )
    app.state.container = container
    app.state.key_cache = KeyCache()
    errors.install(app)
    app.include_router(ops.router)
    app.include_router(tenant.router)
    app.include_router(settings.router)
    for router in directory.routers:
        app.include_router(router)
    app.include_router(messaging.router)
    app.include_router(sms.router)
    app.include_router(reports.router)
    app.include_router(callbacks.router)
    app.include_router(senders.router)
    app.include_router(operator.router, include_in_schema=bool(container.settings.operator_token))
    if container.settings.dev_outbox and not container.settings.smtp_host:
        app.include_router(dev_outbox.router)
    return app
