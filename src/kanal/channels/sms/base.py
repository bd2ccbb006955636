"""What every SMS gateway adapter shares: the message, the Protocol and the HTTP plumbing.

An adapter turns one :class:`SmsMessage` into one provider request and the provider's
answer into a typed :data:`~kanal.channels.base.DeliveryResult`. Provider and network
errors never raise: a timeout, a refused connection, HTTP 429/5xx are ``RetryLater``;
what retrying cannot fix is ``Failed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import aiohttp
from multidict import CIMultiDictProxy

from kanal.channels.base import DeliveryResult, Failed, RetryLater, retry_after
from kanal.core.sms import analyze


@dataclass(frozen=True, slots=True)
class SmsMessage:
    """One SMS to one recipient.

    ``idempotency_key`` is our delivery id: providers that support it (SMSAPI's ``idx``)
    refuse a second send with the same key, so a retry after a lost answer is safe.
    ``callback_url`` is where the provider should post the delivery report; it carries
    our secret token (and, for Twilio, our reference) in its query.
    """

    to: str  # E.164, "+48601234567"
    sender: str  # a number (E.164) or an alphanumeric sender name
    text: str
    idempotency_key: str
    max_parts: int | None = None
    callback_url: str | None = None


@dataclass(frozen=True, slots=True)
class SmsCapabilities:
    """What a gateway can promise; failover and routing decide with these."""

    idempotent_send: bool  # a retried send cannot deliver twice
    alphanumeric_sender: bool
    delivery_reports: bool
    signed_callbacks: bool  # else the callback URL must carry a secret token
    provider_max_parts: bool  # the provider enforces max_parts (else the adapter does)


class SmsGateway(Protocol):
    """An outbound SMS provider."""

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> SmsCapabilities: ...

    async def send(self, message: SmsMessage) -> DeliveryResult: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """A provider's HTTP answer, read whole (bodies are small)."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def text(self, limit: int = 500) -> str:
        return self.body[:limit].decode("utf-8", "replace")


FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


def form_body(fields: dict[str, str]) -> bytes:
    """A form body, encoded once: a dict makes aiohttp build a FormData per request."""
    return urlencode(fields).encode()


def http_status_result(answer: HttpAnswer, code: str | None = None) -> RetryLater | Failed:
    """The result for a non-2xx answer: 408/429/5xx temporary, other 4xx permanent."""
    code = code or f"http_{answer.status}"
    if answer.status in (408, 425, 429) or answer.status >= 500:
        delay = retry_after(answer.headers.get("Retry-After"))
        return RetryLater(code, answer.text(), retry_after=delay)
    return Failed(code, answer.text())


class HttpGateway:
    """Session handling shared by the HTTP adapters (an injected session, or a lazy own one).

    One session keeps connections alive between sends; an injected one is the caller's
    to close, the one made here is closed by :meth:`aclose`.
    """

    def __init__(self, session: aiohttp.ClientSession | None, timeout: float) -> None:
        self._session = session
        self._own = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def _request(self, method: str, url: str, **kwargs: Any) -> HttpAnswer | RetryLater:
        """Do one request; a network problem comes back as ``RetryLater``, never raised."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.request(
                method, url, timeout=self._timeout, allow_redirects=False, **kwargs
            ) as response:
                body = await response.read()
                return HttpAnswer(response.status, response.headers, body)
        except TimeoutError:
            return RetryLater("http_timeout", f"no answer from {url} in time")
        except aiohttp.ServerDisconnectedError:
            # The request may have been processed: only an idempotent gateway is safe here.
            return RetryLater("http_disconnected", f"{url} hung up before answering")
        except aiohttp.ClientConnectorError as exc:  # never connected: nothing was sent
            return RetryLater("http_connect", str(exc) or exc.__class__.__name__)
        except aiohttp.ClientConnectionError as exc:
            # Reset mid-request: the provider may have taken it, like a hang-up.
            return RetryLater("http_disconnected", str(exc) or exc.__class__.__name__)
        except aiohttp.ClientError as exc:
            return RetryLater("http_error", str(exc) or exc.__class__.__name__)

    async def aclose(self) -> None:
        if self._own and self._session is not None:
            await self._session.close()
            self._session = None  # a later send opens a new one


def too_many_parts(message: SmsMessage) -> Failed | None:
    """Check ``max_parts`` locally, for providers that do not enforce it themselves."""
    if message.max_parts is None:
        return None
    segments = analyze(message.text).segments
    if segments > message.max_parts:
        return Failed("too_many_parts", f"{segments} parts, at most {message.max_parts} allowed")
    return None
