"""SMSAPI (smsapi.pl / smsapi.com): ``POST /sms.do`` with a bearer token.

Every send carries ``idx`` = our delivery id and ``check_idx=1``: SMSAPI refuses a second
message with the same idx for 24 h (error 53), so retrying after a lost answer can never
send twice. Business errors come back as HTTP 200 with ``{"error": <int>, "message": …}``.
"""

from __future__ import annotations

import json
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
)

SMSAPI_PL = "https://api.smsapi.pl"
SMSAPI_COM = "https://api.smsapi.com"

DUPLICATE_IDX = 53
"""``check_idx=1`` and this idx was sent in the last 24 h: already sent, do not resend."""

TEMPORARY_ERRORS: Mapping[int, str] = {
    8: "error in request (SMSAPI host error)",
    52: "too many messages to one number (max 10 in 60 s)",
    201: "internal system error",
    666: "internal system error",
    999: "internal system error",
}
"""Codes worth retrying with backoff; every other code is permanent (providers.md §1.3)."""

PERMANENT_ERRORS: Mapping[int, str] = {
    11: "message too long, empty, or nounicode violated",
    12: "more parts than max_parts (or single=1)",
    13: "no valid phone number",
    14: "invalid sender name",
    17: "FLASH message with special characters",
    18: "invalid number of parameters",
    19: "too many messages in one request",
    20: "invalid number of idx parameters",
    27: "idx too long (max 255)",
    28: "bad time_restriction",
    40: "no such contacts group",
    41: "contacts group empty",
    50: "scheduled more than 3 months ahead",
    54: "bad date format",
    56: "expiration date out of range",
    57: "recipient on the blacklist",
    101: "invalid or missing authorization",
    102: "invalid username or password",
    103: "insufficient points: top up the account",
    104: "no such template",
    105: "request from an IP address not allowed",
    110: "service not available on this account",
    1000: "action only for the main user",
    1001: "invalid action",
}
"""Known permanent codes, for readable reasons; unknown codes are permanent too."""


def error_result(code: int, message: str, body: Mapping[str, Any]) -> DeliveryResult:
    """Map an SMSAPI ``error`` code to Sent (53), RetryLater or Failed."""
    reason = message or TEMPORARY_ERRORS.get(code) or PERMANENT_ERRORS.get(code) or "error"
    if code == DUPLICATE_IDX:
        # The message with this idx was accepted before (its answer was lost, or this is a
        # retry): it must not go out again. SMSAPI's error body carries no id as far as
        # documented; use one if a future answer includes it, else the DLR (which echoes
        # idx) brings the id later.
        return Sent(_first_id(body), detail=f"smsapi_53: already accepted ({reason})")
    if code in TEMPORARY_ERRORS:
        return RetryLater(f"smsapi_{code}", reason)
    invalid = body.get("invalid_numbers")
    if isinstance(invalid, list) and invalid:
        numbers = ", ".join(
            str(item.get("number", "?")) for item in invalid if isinstance(item, dict)
        )
        reason = f"{reason}: {numbers}"
    return Failed(f"smsapi_{code}", reason)


def _first_id(body: Mapping[str, Any]) -> str | None:
    items = body.get("list")
    if isinstance(items, list) and items and isinstance(items[0], dict):
        value = items[0].get("id")
        return None if value is None else str(value)
    value = body.get("id")
    return None if value is None else str(value)


def _json(answer: HttpAnswer) -> dict[str, Any] | None:
    try:
        body = json.loads(answer.body)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def interpret(answer: HttpAnswer) -> DeliveryResult:
    """Turn an ``sms.do`` answer (``format=json``) into a result."""
    body = _json(answer)
    if answer.status != 200:
        # A bad token may come as HTTP 401 with the same error body (UNVERIFIED): keep the
        # SMSAPI code when there is one, so both styles map alike.
        if body is not None and isinstance(body.get("error"), int) and answer.status < 500:
            return error_result(body["error"], str(body.get("message") or ""), body)
        return http_status_result(answer)
    if body is None:
        # Unknown whether it was accepted; retrying is safe because of check_idx.
        return RetryLater("smsapi_bad_response", answer.text(200))
    if body.get("error") is not None:
        code = body["error"]
        if not isinstance(code, int):
            return RetryLater("smsapi_bad_response", answer.text(200))
        return error_result(code, str(body.get("message") or ""), body)
    message_id = _first_id(body)
    if message_id is None:
        return RetryLater("smsapi_bad_response", answer.text(200))
    return Sent(message_id)


class SmsapiGateway(HttpGateway):
    """Sends through SMSAPI's ``sms.do``; see the module docstring."""

    capabilities = SmsCapabilities(
        idempotent_send=True,
        alphanumeric_sender=True,
        delivery_reports=True,
        signed_callbacks=False,  # no signature: the notify_url carries our secret token
        provider_max_parts=True,
    )

    def __init__(
        self,
        token: str,
        *,
        base_url: str = SMSAPI_PL,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        name: str = "smsapi",
        test_mode: bool = False,
    ) -> None:
        super().__init__(session, timeout)
        self.name = name
        self._url = base_url.rstrip("/") + "/sms.do"
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            **FORM_HEADERS,
        }
        self._test_mode = test_mode

    def request_fields(self, message: SmsMessage) -> dict[str, str]:
        """The form fields of one ``sms.do`` request."""
        fields = {
            "to": message.to.removeprefix("+"),  # SMSAPI wants digits with country prefix
            "from": message.sender,
            "message": message.text,
            "encoding": "utf-8",
            "format": "json",
            "idx": message.idempotency_key,
            "check_idx": "1",
        }
        if message.max_parts is not None:
            fields["max_parts"] = str(message.max_parts)
        if message.callback_url:
            fields["notify_url"] = message.callback_url
        if self._test_mode:
            fields["test"] = "1"  # validated, not sent, not charged
        return fields

    async def send(self, message: SmsMessage) -> DeliveryResult:
        answer = await self._request(
            "POST", self._url, data=form_body(self.request_fields(message)), headers=self._headers
        )
        if isinstance(answer, RetryLater):
            return answer
        return interpret(answer)
