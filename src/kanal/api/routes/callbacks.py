"""Provider callbacks: SMS delivery reports at ``/callbacks/sms/{key}``.

No API key here: a provider authenticates with the token in the URL or its signature
(``services.sms_callbacks``). A genuine report is answered ``OK`` even when it names no
delivery we know, so the provider stops retrying it.
"""

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from kanal.bootstrap import Container
from kanal.core.errors import KanalError
from kanal.core.i18n import pick_locale, translate
from kanal.services import sms_callbacks
from kanal.services.sms_callbacks import (
    Callback,
    CallbackForbidden,
    CallbackMalformed,
    CallbackSignatureInvalid,
)

router = APIRouter(prefix="/callbacks", tags=["callbacks"])

GatewayKey = Annotated[str, Path(max_length=50, description="The gateway's key")]


def _error(request: Request, exc: KanalError, status: int) -> JSONResponse:
    """The API's error body (api/errors.py), with a status it has no class for (403)."""
    locale = pick_locale(request.headers.get("accept-language"))
    body = {"error": {"code": exc.code, "message": translate(exc.code, locale), "fields": []}}
    return JSONResponse(body, status_code=status)


SUMMARY = "Delivery report from an SMS gateway (SMSAPI: GET; Twilio, generic: POST)"


@router.get(
    "/sms/{key}", response_class=PlainTextResponse, summary=SUMMARY, operation_id="sms_report_get"
)
@router.post(
    "/sms/{key}", response_class=PlainTextResponse, summary=SUMMARY, operation_id="sms_report_post"
)
async def sms_report(key: GatewayKey, request: Request) -> Response:
    container: Container = request.app.state.container
    length = request.headers.get("content-length", "0")
    if not length.isdigit() or int(length) > sms_callbacks.MAX_BODY:  # before reading it
        return _error(request, CallbackMalformed(), 400)
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    query = request.url.query
    form = (
        parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        if content_type == "application/x-www-form-urlencoded"
        else []
    )
    callback = Callback(
        # Twilio signs the URL it called: ours as the public sees it, not as a proxy passed it.
        public_url=f"{container.settings.base_url}{request.url.path}"
        + (f"?{query}" if query else ""),
        query=parse_qsl(query, keep_blank_values=True),
        form=form,
        body=body,
        is_json=content_type == "application/json" or content_type.endswith("+json"),
        signature=request.headers.get("x-twilio-signature"),
    )
    try:
        await run_in_threadpool(
            sms_callbacks.receive,
            container.uows,
            container.secrets,
            container.settings.sms_gateways,
            key,
            callback,
        )
    except (CallbackForbidden, CallbackSignatureInvalid) as exc:
        return _error(request, exc, 403)
    except CallbackMalformed as exc:
        return _error(request, exc, 400)
    return PlainTextResponse("OK")  # SMSAPI wants exactly this; the others take any 2xx
