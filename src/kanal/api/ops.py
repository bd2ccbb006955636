"""Operations: liveness, readiness and Prometheus metrics."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from kanal.services import health, outbox

router = APIRouter(tags=["ops"])

QUEUE_DEPTH = Gauge("kanal_queue_depth", "Deliveries due now and not yet claimed")
QUEUE_AGE = Gauge("kanal_queue_oldest_age_seconds", "Age of the oldest due delivery")
BY_STATUS = Gauge("kanal_deliveries_by_status", "Deliveries by status", ["status"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database reachable, migrations current")
def readyz(request: Request) -> JSONResponse:
    problems = health.readiness(request.app.state.container.uows)
    if problems:
        return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503)
    return JSONResponse({"status": "ready"})


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    stats = outbox.queue_stats(request.app.state.container.uows)
    QUEUE_DEPTH.set(stats.pop("depth"))
    QUEUE_AGE.set(stats.pop("oldest_age"))
    for key, value in stats.items():
        BY_STATUS.labels(key.removeprefix("status_")).set(value)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
