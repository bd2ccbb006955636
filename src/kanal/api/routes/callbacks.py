"""Provider callbacks: SMS delivery reports at ``/callbacks/sms/{key}``.

No API key here: a provider authenticates with the token in the URL or its signature
(``services.sms_callbacks``). A genuine report is answered ``OK`` even when it names no
delivery we know, so the provider stops retrying it.
"""

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from kanal.bootstrap import Container
from kanal.services import sms_callbacks
from kanal.services.sms_callbacks import Callback, CallbackMalformed

router = APIRouter(prefix="/callbacks", tags=["callbacks"])

GatewayKey = Annotated[str, Path(max_length=50, description="The gateway's key")]


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
        raise CallbackMalformed()
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
    # Errors answer as everywhere (api/errors.py): forbidden 403, malformed 400.
    await run_in_threadpool(
        sms_callbacks.receive,
        container.uows,
        container.secrets,
        container.settings.sms_gateways,
        key,
        callback,
    )
    return PlainTextResponse("OK")  # SMSAPI wants exactly this; the others take any 2xx
