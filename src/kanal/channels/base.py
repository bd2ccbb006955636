"""What every outbound channel adapter returns: a typed result, never a bool.

``Sent`` carries the provider's id; ``RetryLater`` is a temporary failure (the worker
retries with backoff); ``Failed`` is permanent (the worker gives up at once).
"""

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class Sent:
    """The provider accepted the message."""

    provider_message_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class RetryLater:
    """A temporary failure: connection refused, timeout, SMTP 4xx, HTTP 429/5xx."""

    code: str
    reason: str
    retry_after: float | None = None  # seconds, when the provider says


@dataclass(frozen=True, slots=True)
class Failed:
    """A permanent failure: trying again cannot help (SMTP 5xx recipient rejected …)."""

    code: str
    reason: str


DeliveryResult = Sent | RetryLater | Failed


def retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
