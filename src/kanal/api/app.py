"""The FastAPI application, built around a container (never at import time)."""

from fastapi import FastAPI

from kanal import __version__
from kanal.api import errors
from kanal.api.routes import directory, tenant
from kanal.bootstrap import Container


def create_app(container: Container) -> FastAPI:
    app = FastAPI(
        title="kanal",
        version=__version__,
        summary="One hub for SMS, email, the portal inbox and messengers, threaded by order.",
    )
    app.state.container = container
    errors.install(app)
    app.include_router(tenant.router)
    for router in directory.routers:
        app.include_router(router)

    @app.get("/healthz", tags=["ops"], summary="Liveness: the process answers")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
