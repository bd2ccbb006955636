"""Twilio Programmable Messaging: ``POST /2010-04-01/Accounts/{sid}/Messages.json``.

HTTP Basic auth (Account SID or API key : secret), a form body, a JSON answer with the
message ``sid`` (HTTP 201). Twilio has no idempotency key, so a send whose answer was
lost (``http_timeout``, ``http_disconnected``) may already have gone out; the worker
decides whether to risk a duplicate. Status callbacks are signed (see ``reports``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import aiohttp

from kanal.channels.base import DeliveryResult, Failed, RetryLater, Sent
from kanal.channels.sms.base import (
    FORM_HEADERS,
    HttpAnswer,
    HttpGateway,
    SmsCapabilities,
    SmsMessage,
    form_body,
    http_status_result,
    too_many_parts,
)

TWILIO_API = "https://api.twilio.com"

TEMPORARY_ERRORS: Mapping[int, str] = {
    20429: "too many concurrent requests (never processed, safe to retry)",
    30003: "unreachable handset",
    30008: "unknown error",
}
"""Codes worth retrying; other codes on a 4xx answer are permanent (providers.md §2.2)."""

PERMANENT_ERRORS: Mapping[int, str] = {
    20003: "authentication failed",
    21211: "invalid To number",
    21408: "sending to this region not enabled",
    21606: "From number cannot send SMS",
    21608: "trial account: To number not verified",
    21610: "recipient unsubscribed (STOP)",
    21612: "To number not routable",
    21614: "To is not a mobile number",
    21635: "To is a landline",
    30005: "unknown destination handset",
    30006: "landline or unreachable carrier",
    30007: "carrier filtering",
}

_SERVICE_SID = re.compile(r"MG[0-9a-fA-F]{32}")


def interpret(answer: HttpAnswer) -> DeliveryResult:
    """Turn a ``Messages.json`` answer into a result."""
    body: Any
    try:
        body = json.loads(answer.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    if 200 <= answer.status < 300:
        sid = body.get("sid")
        if not isinstance(sid, str) or not sid:
            # Accepted, but we cannot tell which message: do not resend (no idempotency).
            return Sent(None, detail=f"twilio {answer.status} without sid")
        return Sent(sid, detail=str(body.get("status") or ""))
    code = body.get("code")
    if not isinstance(code, int):
        return http_status_result(answer)
    reason = str(body.get("message") or PERMANENT_ERRORS.get(code) or "")
    result = http_status_result(answer, f"twilio_{code}")
    if code in TEMPORARY_ERRORS and isinstance(result, Failed):
        return RetryLater(result.code, reason)
    if isinstance(result, RetryLater):
        return RetryLater(result.code, reason, retry_after=result.retry_after)
    return Failed(result.code, reason)


class TwilioGateway(HttpGateway):
    """Sends through Twilio's Messages API; see the module docstring."""

    capabilities = SmsCapabilities(
        idempotent_send=False,
        alphanumeric_sender=True,  # where the destination country allows it
        delivery_reports=True,
        signed_callbacks=True,
        provider_max_parts=False,  # checked here, before anything is sent
    )

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        api_key_sid: str | None = None,
        base_url: str = TWILIO_API,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        name: str = "twilio",
    ) -> None:
        super().__init__(session, timeout)
        self.name = name
        self._url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        # With an API key the key SID is the user name and auth_token is its secret.
        self._headers = {
            "Accept": "application/json",
            "Authorization": aiohttp.encode_basic_auth(api_key_sid or account_sid, auth_token),
            **FORM_HEADERS,
        }

    def request_fields(self, message: SmsMessage) -> dict[str, str]:
        """The form fields of one create-message request."""
        fields = {"To": message.to, "Body": message.text}
        if _SERVICE_SID.fullmatch(message.sender):
            fields["MessagingServiceSid"] = message.sender
        else:
            fields["From"] = message.sender
        if message.callback_url:
            fields["StatusCallback"] = message.callback_url
        return fields

    async def send(self, message: SmsMessage) -> DeliveryResult:
        refused = too_many_parts(message)
        if refused is not None:
            return refused
        answer = await self._request(
            "POST",
            self._url,
            data=form_body(self.request_fields(message)),
            headers=self._headers,
        )
        if isinstance(answer, RetryLater):
            return answer
        return interpret(answer)
