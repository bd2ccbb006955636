"""POSTing signed webhook events to a host application (aiohttp, injected session)."""

import aiohttp

from kanal.channels.base import DeliveryResult, Failed, RetryLater, Sent, retry_after


class WebhookChannel:
    def __init__(self, session: aiohttp.ClientSession | None = None, timeout: float = 10.0) -> None:
        self._session = session
        self._own = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> DeliveryResult:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with self._session.post(
                url, data=body, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as response:
                text = (await response.text())[:500]
                status = response.status
        except TimeoutError:
            return RetryLater("http_timeout", f"no answer from {url}")
        except aiohttp.ClientError as exc:
            return RetryLater("http_connect", str(exc) or exc.__class__.__name__)
        if 200 <= status < 300:
            return Sent(detail=f"{status} {text}".strip())
        if status == 429 or status >= 500 or status == 408:
            delay = retry_after(response.headers.get("Retry-After"))
            return RetryLater(f"http_{status}", text, retry_after=delay)
        return Failed(f"http_{status}", text)

    async def aclose(self) -> None:
        if self._own and self._session is not None:
            await self._session.close()
            self._session = None  # a later post opens a new one
