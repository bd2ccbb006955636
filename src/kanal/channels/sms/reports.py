"""Delivery-report callbacks: parse each provider's shape into :class:`DeliveryReport` and
check that the callback is genuine. Pure functions: no I/O, no framework.

Authenticity: Twilio signs its callbacks (``X-Twilio-Signature``, HMAC-SHA1 over the URL
and the sorted parameters, or over the URL alone with a ``bodySHA256`` query for JSON
bodies). SMSAPI and the generic gateway do not sign, so their callback URL carries an
unguessable token we check in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from kanal.channels.sms.generic import get_path

DeliveryStatus = Literal[
    "queued", "sent", "delivered", "undelivered", "expired", "failed", "rejected", "unknown"
]
FINAL_STATUSES: frozenset[str] = frozenset(
    {"delivered", "undelivered", "expired", "failed", "rejected"}
)


class ReportError(ValueError):
    """The callback is not a delivery report we understand (answer it 400)."""


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """One status change of one sent message, as the provider reported it."""

    provider_message_id: str
    status: DeliveryStatus
    provider_code: str | None  # SMSAPI status number, Twilio ErrorCode, the generic code
    at: datetime | None  # when the provider says it happened (UTC); None if it does not say
    reference: str | None = None  # our delivery id, where the provider echoes it (SMSAPI idx)
    provider_status: str | None = None  # the provider's own word, for the history

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


Params = Mapping[str, str] | Iterable[tuple[str, str]]
"""Query or form parameters: a mapping, or the (name, value) pairs as received."""


def _pairs(params: Params) -> list[tuple[str, str]]:
    return list(params.items()) if isinstance(params, Mapping) else list(params)


def _first(params: Params) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in _pairs(params):
        result.setdefault(name, value)
    return result


def _timestamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


# -- SMSAPI ------------------------------------------------------------------------------

SMSAPI_STATUSES: Mapping[str, DeliveryStatus] = {
    "401": "unknown",  # NOT_FOUND: wrong id or report expired
    "402": "expired",
    "403": "sent",
    "404": "delivered",
    "405": "undelivered",
    "406": "failed",
    "407": "rejected",
    "408": "unknown",  # no report from the operator
    "409": "queued",
    "410": "sent",  # ACCEPTED by the operator
    "411": "sent",  # RENEWAL: being retried
    "412": "failed",  # STOP: the bulk was stopped
}
"""SMSAPI's numeric DLR statuses (providers.md §1.5)."""


def parse_smsapi_report(params: Params) -> list[DeliveryReport]:
    """SMSAPI's DLR callback (GET query). Several reports may come in one request, each
    field then a comma-separated list, index-aligned."""
    fields = _first(params)
    ids = fields.get("MsgId", "").split(",")
    statuses = fields.get("status", "").split(",")
    if not ids or not ids[0] or len(statuses) != len(ids):
        raise ReportError("SMSAPI report without MsgId/status, or lists of different lengths")

    def column(name: str) -> list[str]:
        values = fields.get(name, "").split(",")
        return values if len(values) == len(ids) else [""] * len(ids)

    names, idxs, dates = column("status_name"), column("idx"), column("donedate")
    reports = []
    for message_id, status, name, idx, done in zip(ids, statuses, names, idxs, dates, strict=True):
        status = status.strip()
        if not message_id.strip() or not status.isdigit():
            raise ReportError(f"bad SMSAPI report entry: {message_id!r} {status!r}")
        reports.append(
            DeliveryReport(
                provider_message_id=message_id.strip(),
                status=SMSAPI_STATUSES.get(status, "unknown"),
                provider_code=status,
                at=_timestamp(done.strip()),
                reference=idx.strip() or None,
                provider_status=name.strip() or None,
            )
        )
    return reports


# -- Twilio ------------------------------------------------------------------------------

TWILIO_STATUSES: Mapping[str, DeliveryStatus] = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "queued",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "partially_delivered": "undelivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}


def parse_twilio_report(params: Params, at: datetime | None = None) -> DeliveryReport:
    """Twilio's status callback (POST form). It carries no time: pass the arrival time."""
    fields = _first(params)
    sid = fields.get("MessageSid") or fields.get("SmsSid")
    status = fields.get("MessageStatus") or fields.get("SmsStatus")
    if not sid or not status:
        raise ReportError("Twilio status callback without MessageSid/MessageStatus")
    return DeliveryReport(
        provider_message_id=sid,
        status=TWILIO_STATUSES.get(status, "unknown"),
        provider_code=fields.get("ErrorCode") or None,
        at=at,
        provider_status=status,
    )


def twilio_signature(auth_token: str, url: str, params: Params = ()) -> str:
    """``X-Twilio-Signature``: base64 HMAC-SHA1 of the URL followed by every parameter
    name and value, names sorted, each name's values sorted."""
    by_name: dict[str, set[str]] = {}
    for name, value in _pairs(params):
        by_name.setdefault(name, set()).add(value)
    text = url + "".join(
        name + value for name in sorted(by_name) for value in sorted(by_name[name])
    )
    digest = hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    """The URL without and with its default port: Twilio signs either form."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    if default is None or parts.port not in (None, default) or "@" in parts.netloc:
        return [url]
    host = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    bare = urlunsplit(parts._replace(netloc=host))
    return [bare, urlunsplit(parts._replace(netloc=f"{host}:{default}"))]


def verify_twilio_signature(
    auth_token: str,
    url: str,
    signature: str | None,
    params: Params = (),
    body: bytes | None = None,
) -> bool:
    """Whether a Twilio webhook is genuine.

    ``url`` is the full URL Twilio called (scheme, host, path, query) as the public sees it,
    not as a proxy rewrote it. Form callbacks: pass the form ``params``. JSON callbacks (the
    URL has ``bodySHA256``): pass the raw ``body``; the URL alone is signed and the body's
    SHA-256 must match the query value.
    """
    if not signature:
        return False
    query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if "bodySHA256" in query:
        if body is None:
            return False
        expected_hash = hashlib.sha256(body).hexdigest()
        if not hmac.compare_digest(expected_hash, query["bodySHA256"].lower()):
            return False
        params = ()
    return any(
        hmac.compare_digest(twilio_signature(auth_token, variant, params), signature)
        for variant in _port_variants(url)
    )


def twilio_json_callback_url(url: str, body: bytes) -> str:
    """The URL a JSON-body Twilio webhook is signed over: ``url`` + ``bodySHA256``."""
    return add_query(url, bodySHA256=hashlib.sha256(body).hexdigest())


# -- the generic gateway ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GenericReportMapping:
    """Where a generic gateway's JSON report keeps its fields (dotted paths)."""

    message_id_path: str = "id"
    status_path: str = "status"
    statuses: Mapping[str, DeliveryStatus] = field(default_factory=dict)  # their word → ours
    code_path: str | None = "code"
    at_path: str | None = "timestamp"  # unix seconds or ISO 8601
    reference_path: str | None = "reference"


def parse_generic_report(document: Any, mapping: GenericReportMapping) -> DeliveryReport:
    """A generic gateway's JSON report, read through ``mapping``."""
    message_id = get_path(document, mapping.message_id_path)
    status = get_path(document, mapping.status_path)
    if message_id in (None, "") or status in (None, ""):
        raise ReportError("generic report without message id or status")
    word = str(status)
    mapped = mapping.statuses.get(word) or mapping.statuses.get(word.lower())
    if mapped is None:
        mapped = _OUR_STATUSES.get(word.lower(), "unknown")  # already our vocabulary
    code = get_path(document, mapping.code_path) if mapping.code_path else None
    reference = get_path(document, mapping.reference_path) if mapping.reference_path else None
    return DeliveryReport(
        provider_message_id=str(message_id),
        status=mapped,
        provider_code=None if code in (None, "") else str(code),
        at=_when(get_path(document, mapping.at_path)) if mapping.at_path else None,
        reference=None if reference in (None, "") else str(reference),
        provider_status=word,
    )


_OUR_STATUSES: Mapping[str, DeliveryStatus] = {
    status: status for status in get_args(DeliveryStatus)
}


def _when(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _timestamp(str(value))
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return _timestamp(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


# -- secret tokens in callback URLs -------------------------------------------------------


def add_query(url: str, **params: str) -> str:
    """``url`` with ``params`` appended to its query (for callback URLs)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def callback_url(base_url: str, token: str, reference: str | None = None) -> str:
    """The callback URL to give a provider: ``?k=<token>`` (and ``ref=`` our delivery id,
    for providers that do not echo one)."""
    extra = {"k": token}
    if reference is not None:
        extra["ref"] = reference
    return add_query(base_url, **extra)


def verify_url_token(params: Params, expected: str, name: str = "k") -> bool:
    """Whether the callback's query carries our secret token (constant-time compare)."""
    if not expected:
        return False
    given = _first(params).get(name, "")
    return hmac.compare_digest(given.encode(), expected.encode())


def query_params(url: str) -> Sequence[tuple[str, str]]:
    """The (name, value) pairs of a URL's query, as received."""
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)
