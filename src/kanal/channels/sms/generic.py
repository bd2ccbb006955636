"""A generic JSON-over-HTTP SMS gateway, described by configuration instead of code.

The configuration says where to POST, how to authenticate (bearer, basic or a custom
header), which JSON fields carry the recipient, sender, text and our reference (dotted
paths build nested objects), where the answer keeps the message id and how an error
looks. Codes come back as ``generic_<code>`` or ``http_<status>``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp

from kanal.channels.base import DeliveryResult, Failed, RetryLater, Sent
from kanal.channels.sms.base import (
    HttpAnswer,
    HttpGateway,
    SmsCapabilities,
    SmsMessage,
    http_status_result,
    too_many_parts,
)


@dataclass(frozen=True, slots=True)
class GenericAuth:
    """``bearer`` (token), ``basic`` (username, password), ``header`` (header, token)."""

    kind: Literal["none", "bearer", "basic", "header"] = "none"
    token: str = ""
    username: str = ""
    password: str = ""
    header: str = "X-Api-Key"


@dataclass(frozen=True, slots=True)
class GenericGatewayConfig:
    """How to talk to one generic gateway. ``None`` for a field leaves it out."""

    url: str
    auth: GenericAuth = GenericAuth()
    to_field: str = "to"
    sender_field: str | None = "from"
    text_field: str = "text"
    reference_field: str | None = "reference"
    callback_field: str | None = None
    max_parts_field: str | None = None  # None: the adapter checks max_parts itself
    phone_format: Literal["e164", "digits"] = "e164"  # "+48601…" or "48601…"
    extra_fields: Mapping[str, Any] = field(default_factory=dict)  # sent as they are
    message_id_path: str = "id"  # in the answer, e.g. "messages.0.id"
    error_code_path: str | None = "error.code"  # checked on 2xx answers too
    error_message_path: str | None = "error.message"
    temporary_errors: frozenset[str] = frozenset()  # error codes worth retrying
    duplicate_errors: frozenset[str] = frozenset()  # "reference already used": already sent
    idempotent: bool = False  # the gateway refuses a repeated reference
    alphanumeric_sender: bool = True
    signed_callbacks: bool = False


def get_path(document: Any, path: str) -> Any:
    """The value at a dotted path (``"a.0.b"``), or ``None`` when any step is missing."""
    value = document
    for step in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def put_path(document: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted path, making the nested objects on the way."""
    *parents, last = path.split(".")
    for step in parents:
        document = document.setdefault(step, {})
    document[last] = value


class GenericGateway(HttpGateway):
    """Sends through a gateway described by :class:`GenericGatewayConfig`."""

    def __init__(
        self,
        config: GenericGatewayConfig,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 10.0,
        name: str = "generic",
    ) -> None:
        super().__init__(session, timeout)
        self.name = name
        self.config = config
        self.capabilities = SmsCapabilities(
            idempotent_send=config.idempotent,
            alphanumeric_sender=config.alphanumeric_sender,
            delivery_reports=config.callback_field is not None,
            signed_callbacks=config.signed_callbacks,
            provider_max_parts=config.max_parts_field is not None,
        )
        self._headers = {"Accept": "application/json", **_auth_headers(config.auth)}

    def request_body(self, message: SmsMessage) -> dict[str, Any]:
        config = self.config
        body: dict[str, Any] = json.loads(json.dumps(dict(config.extra_fields)))  # deep copy
        to = message.to.removeprefix("+") if config.phone_format == "digits" else message.to
        put_path(body, config.to_field, to)
        put_path(body, config.text_field, message.text)
        if config.sender_field:
            put_path(body, config.sender_field, message.sender)
        if config.reference_field:
            put_path(body, config.reference_field, message.idempotency_key)
        if config.callback_field and message.callback_url:
            put_path(body, config.callback_field, message.callback_url)
        if config.max_parts_field and message.max_parts is not None:
            put_path(body, config.max_parts_field, message.max_parts)
        return body

    async def send(self, message: SmsMessage) -> DeliveryResult:
        if self.config.max_parts_field is None:
            refused = too_many_parts(message)
            if refused is not None:
                return refused
        answer = await self._request(
            "POST", self.config.url, json=self.request_body(message), headers=self._headers
        )
        if isinstance(answer, RetryLater):
            return answer
        return self.interpret(answer)

    def interpret(self, answer: HttpAnswer) -> DeliveryResult:
        config = self.config
        try:
            body: Any = json.loads(answer.body) if answer.body else None
        except ValueError:
            body = None
        code = get_path(body, config.error_code_path) if config.error_code_path else None
        if code is not None and code != "" and code is not False:
            message = (
                get_path(body, config.error_message_path) if config.error_message_path else None
            )
            reason = str(message or answer.text(200))
            code = str(code)
            if code in config.duplicate_errors:
                message_id = get_path(body, config.message_id_path)
                detail = f"generic_{code}: reference already accepted ({reason})"
                return Sent(None if message_id is None else str(message_id), detail=detail)
            status_result = http_status_result(answer, f"generic_{code}")
            if code in config.temporary_errors or isinstance(status_result, RetryLater):
                delay = status_result.retry_after if isinstance(status_result, RetryLater) else None
                return RetryLater(f"generic_{code}", reason, retry_after=delay)
            return Failed(f"generic_{code}", reason)
        if not 200 <= answer.status < 300:
            return http_status_result(answer)
        message_id = get_path(body, config.message_id_path)
        if message_id is None or isinstance(message_id, (dict, list)):
            # Accepted, but no id where the config says: resending could double-send.
            return Sent(None, detail=f"no message id at {config.message_id_path!r}")
        return Sent(str(message_id))


def _auth_headers(auth: GenericAuth) -> dict[str, str]:
    if auth.kind == "bearer":
        return {"Authorization": f"Bearer {auth.token}"}
    if auth.kind == "basic":
        return {"Authorization": aiohttp.encode_basic_auth(auth.username, auth.password)}
    if auth.kind == "header":
        return {auth.header: auth.token}
    return {}
