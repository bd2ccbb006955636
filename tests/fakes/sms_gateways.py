"""Local HTTP servers that speak the SMS providers' documented APIs (providers.md).

Each fake is a real aiohttp.web server on 127.0.0.1 (a free port) running its own event
loop in a background thread, so sync fixtures and ``asyncio.run`` tests can share it::

    @pytest.fixture
    def smsapi() -> Iterator[FakeSmsapi]:
        with FakeSmsapi(token="t0ken") as fake:
            yield fake

    gateway = SmsapiGateway("t0ken", base_url=smsapi.url)

``FakeSmsapi`` (``POST /sms.do``), ``FakeTwilio`` (``Messages.json``) and
``FakeGenericGateway`` (configurable JSON) keep every request in ``requests`` and every
SMS they would really send in ``sent``; they push delivery reports to the message's
callback URL (``push_report``), which a ``CallbackSink`` can receive.

Faults, each for the next ``times`` requests (``times=None``: for ever):
``fail_http(status, retry_after=…)`` answers with that HTTP status; ``delay(seconds)``
answers late; ``drop()`` processes the request (the SMS counts as sent) and hangs up
before answering — the lost-answer case; ``drop(before=True)`` hangs up without
processing. Provider errors: ``error(code)`` (SMSAPI ``{"error": code}``, Twilio
``{"code": …}`` with an HTTP status, the generic gateway's configured error shape).

UNVERIFIED provider behaviour is a constructor option: ``FakeSmsapi(auth_failure=
"http_401" | "json_200", duplicate_answer="error" | "error_with_id" | "original")``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from kanal.channels.sms.generic import get_path
from kanal.channels.sms.reports import twilio_json_callback_url, twilio_signature
from kanal.core.sms import analyze


@dataclass(frozen=True)
class ReceivedRequest:
    """One HTTP request as a fake (or the sink) saw it."""

    method: str
    url: str  # the full URL as called
    headers: Mapping[str, str]
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]  # form fields, in order (empty for JSON bodies)
    body: bytes
    client_port: int  # the client's source port: one port for many requests = keep-alive

    @property
    def fields(self) -> dict[str, str]:
        """Form fields, or a JSON object's top-level values as text."""
        if self.form:
            return dict(self.form)
        document = self.json
        if isinstance(document, dict):
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in document.items()}
        return {}

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(frozen=True)
class SentSms:
    """A message the fake accepted and would really send (and charge)."""

    id: str
    to: str
    sender: str
    text: str
    reference: str | None
    callback_url: str | None
    parts: int


@dataclass
class _Fault:
    status: int | None = None
    retry_after: str | None = None
    body: Any = None
    error: Any = None
    delay: float = 0.0
    drop: bool = False
    before: bool = False
    times: int | None = 1


class _Unauthorized(Exception):
    pass


class FakeHttpServer:
    """The shared machinery: thread, loop, runner, recording and faults."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self._lock = threading.Condition()
        self._requests: list[ReceivedRequest] = []
        self._sent: list[SentSms] = []
        self._faults: list[_Fault] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None

    # -- life cycle ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeHttpServer:
        self._thread.start()
        self._run(self._listen())
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._run(self._shutdown())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        if not self._loop.is_running():
            self._loop.close()

    def __enter__(self) -> Any:  # Any: subclasses are returned as themselves
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self, coroutine: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=timeout)

    async def _listen(self) -> None:
        app = web.Application()
        self._routes(app)
        # No access log: the benchmark posts 10,000 requests.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    # -- what tests see and set ----------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def sent(self) -> list[SentSms]:
        with self._lock:
            return list(self._sent)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[ReceivedRequest]:
        with self._lock:
            arrived = self._lock.wait_for(lambda: len(self._requests) >= count, timeout)
            assert arrived, f"{len(self._requests)} of {count} requests arrived"
            return list(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._sent.clear()
            self._faults.clear()

    def fail_http(
        self,
        status: int,
        *,
        times: int | None = 1,
        retry_after: str | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next ``times`` requests with HTTP ``status`` (not processed)."""
        self._add(_Fault(status=status, retry_after=retry_after, body=body, times=times))

    def delay(self, seconds: float, *, times: int | None = 1) -> None:
        self._add(_Fault(delay=seconds, times=times))

    def drop(self, *, times: int | None = 1, before: bool = False) -> None:
        """Hang up instead of answering; by default after processing (the SMS is sent)."""
        self._add(_Fault(drop=True, before=before, times=times))

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self) -> _Fault | None:
        with self._lock:
            if not self._faults:
                return None
            fault = self._faults[0]
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.pop(0)
            return fault

    # -- called in the server thread -----------------------------------------------------

    async def _record(self, request: web.Request) -> ReceivedRequest:
        body = await request.read()
        form: list[tuple[str, str]] = []
        if request.content_type == "application/x-www-form-urlencoded":
            form = [(k, str(v)) for k, v in (await request.post()).items()]
        received = ReceivedRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            query=list(request.query.items()),
            form=form,
            body=body,
            client_port=_client_port(request),
        )
        with self._lock:
            self._requests.append(received)
            self._lock.notify_all()
        return received

    def _accept(self, sms: SentSms) -> None:
        with self._lock:
            self._sent.append(sms)

    async def _faulty(self, request: web.Request, process: Any) -> web.StreamResponse:
        """Run ``process(request, fault)`` under the next fault."""
        fault = self._take_fault()
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.drop and fault.before:
            await self._record(request)
            return _hang_up(request)
        if fault is not None and fault.status is not None:
            await self._record(request)
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
            if fault.body is None:
                return web.Response(status=fault.status, text="fault", headers=headers)
            return web.json_response(fault.body, status=fault.status, headers=headers)
        response: web.StreamResponse = await process(request, fault)
        if fault is not None and fault.drop:
            return _hang_up(request)
        return response

    async def _push(
        self, method: str, url: str, *, data: Any = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, str]:
        if self._client is None:
            self._client = aiohttp.ClientSession()
        async with self._client.request(method, url, data=data, headers=headers) as response:
            return response.status, await response.text()


def _hang_up(request: web.Request) -> web.Response:
    assert request.transport is not None
    request.transport.close()
    return web.Response(status=200)


def _client_port(request: web.Request) -> int:
    peer = request.transport.get_extra_info("peername") if request.transport else None
    return int(peer[1]) if peer else 0


def _parts(text: str) -> int:
    return analyze(text).segments


# -- SMSAPI ------------------------------------------------------------------------------


SMSAPI_TOKEN = "smsapi-token"
"""The bearer token a ``FakeSmsapi`` accepts unless told another."""


class FakeSmsapi(FakeHttpServer):
    """SMSAPI's ``POST /sms.do`` (form or JSON, ``format=json``), bearer auth, idx +
    check_idx (error 53 within ``idx_ttl`` seconds), max_parts (error 12), DLR push."""

    def __init__(
        self,
        token: str = SMSAPI_TOKEN,
        *,
        senders: set[str] | None = None,  # verified sender names; None accepts any
        auth_failure: Literal["http_401", "json_200"] = "json_200",  # UNVERIFIED which
        duplicate_answer: Literal["error", "error_with_id", "original"] = "error",  # UNVERIFIED
        idx_ttl: float = 24 * 3600,
    ) -> None:
        super().__init__()
        self.token = token
        self.senders = senders
        self.auth_failure = auth_failure
        self.duplicate_answer = duplicate_answer
        self.idx_ttl = idx_ttl
        # a random start: ids stay unique across fakes sharing one test database
        self._ids = itertools.count(7074294081650020450 + secrets.randbelow(10**9) * 10**6)
        self._by_idx: dict[str, tuple[float, dict[str, Any]]] = {}

    def _routes(self, app: web.Application) -> None:
        async def send(request: web.Request) -> web.StreamResponse:
            return await self._faulty(request, self._send)

        app.router.add_post("/sms.do", send)
        app.router.add_post("/api/sms.do", send)

    def reset(self) -> None:
        """Also forget the idx seen (as if 24 h had passed)."""
        super().reset()
        with self._lock:
            self._by_idx.clear()

    def error(self, code: int, message: str = "error", *, times: int | None = 1) -> None:
        """Answer the next ``times`` sends with ``{"error": code}`` (HTTP 200, not sent)."""
        self._add(_Fault(error=(code, message), times=times))

    async def _send(self, request: web.Request, fault: _Fault | None) -> web.Response:
        received = await self._record(request)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            body = {"error": 101, "message": "Authorization failed"}
            return web.json_response(body, status=401 if self.auth_failure == "http_401" else 200)
        if fault is not None and fault.error is not None:
            code, message = fault.error
            return web.json_response({"error": code, "message": message})
        fields = received.fields
        to, text, sender = fields.get("to", ""), fields.get("message", ""), fields.get("from", "")
        if not text:
            return _smsapi_error(11, "Message is empty")
        if not to.isdigit() or not 9 <= len(to) <= 15:
            invalid = [{"number": to, "submitted_number": to, "message": "Invalid phone number"}]
            return _smsapi_error(13, "No correct phone numbers", invalid_numbers=invalid)
        if self.senders is not None and sender not in self.senders:
            return _smsapi_error(14, "Invalid sender name")
        idx = fields.get("idx") or None
        if idx is not None and len(idx) > 255:
            return _smsapi_error(27, "Idx too long")
        parts = _parts(text)
        max_parts = fields.get("max_parts")
        if max_parts and parts > int(max_parts):
            return _smsapi_error(12, "Too many parts")
        now = time.monotonic()
        if idx is not None and fields.get("check_idx") == "1":
            with self._lock:
                earlier = self._by_idx.get(idx)
            if earlier is not None and now - earlier[0] < self.idx_ttl:
                return self._duplicate(earlier[1])
        message_id = str(next(self._ids))
        answer = {
            "count": 1,
            "list": [
                {
                    "id": message_id,
                    "points": 0.165,
                    "number": to,
                    "date_sent": int(time.time()),
                    "submitted_number": to,
                    "status": "QUEUE",
                    "error": None,
                    "idx": idx,
                    "parts": parts,
                }
            ],
        }
        with self._lock:
            if idx is not None:
                self._by_idx[idx] = (now, answer)
        self._accept(SentSms(message_id, to, sender, text, idx, fields.get("notify_url"), parts))
        return web.json_response(answer)

    def _duplicate(self, original: dict[str, Any]) -> web.Response:
        if self.duplicate_answer == "original":
            return web.json_response(original)
        body: dict[str, Any] = {"error": 53, "message": "Message with this idx already sent"}
        if self.duplicate_answer == "error_with_id":
            body["list"] = [{"id": original["list"][0]["id"]}]
        return web.json_response(body)

    def report_query(
        self, messages: list[SentSms], status: int = 404, status_name: str = "DELIVERED"
    ) -> str:
        """The DLR query string for ``messages`` (comma-joined when several)."""

        def joined(values: list[str]) -> str:
            return ",".join(values)

        now = str(int(time.time()))
        return urlencode(
            {
                "MsgId": joined([m.id for m in messages]),
                "status": joined([str(status)] * len(messages)),
                "status_name": joined([status_name] * len(messages)),
                "idx": joined([m.reference or "" for m in messages]),
                "donedate": joined([now] * len(messages)),
                "to": joined([m.to for m in messages]),
                "from": joined([m.sender for m in messages]),
                "username": joined(["kanal"] * len(messages)),
                "points": joined(["0.165"] * len(messages)),
                "mcc": joined(["260"] * len(messages)),
                "mnc": joined(["2"] * len(messages)),
            }
        )

    def push_report(
        self,
        messages: list[SentSms],
        status: int = 404,
        status_name: str = "DELIVERED",
        url: str | None = None,
    ) -> tuple[int, str]:
        """GET the DLR (batched if several messages) to ``url`` or the messages' notify_url."""
        target = url or messages[0].callback_url
        assert target, "no notify_url"
        separator = "&" if "?" in target else "?"
        full = target + separator + self.report_query(messages, status, status_name)
        result: tuple[int, str] = self._run(self._push("GET", full))
        return result


def _smsapi_error(code: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": code, "message": message, **extra})


# -- Twilio ------------------------------------------------------------------------------


class FakeTwilio(FakeHttpServer):
    """Twilio's ``POST /2010-04-01/Accounts/{sid}/Messages.json`` (basic auth, form body,
    201 + JSON), and signed status callbacks (form, or JSON with ``bodySHA256``)."""

    def __init__(
        self, account_sid: str = "AC" + "0" * 32, auth_token: str = "twilio-token"
    ) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token

    def _routes(self, app: web.Application) -> None:
        async def create(request: web.Request) -> web.StreamResponse:
            return await self._faulty(request, self._create)

        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", create)

    def error(
        self, code: int, status: int = 400, message: str = "error", *, times: int | None = 1
    ) -> None:
        """Answer the next ``times`` creates with Twilio's error JSON (not sent)."""
        self._add(_Fault(error=(code, status, message), times=times))

    async def _create(self, request: web.Request, fault: _Fault | None) -> web.Response:
        received = await self._record(request)
        expected = aiohttp.encode_basic_auth(self.account_sid, self.auth_token)
        if (
            request.headers.get("Authorization") != expected
            or request.match_info["sid"] != self.account_sid
        ):
            return _twilio_error(20003, 401, "Authenticate")
        if fault is not None and fault.error is not None:
            code, status, message = fault.error
            return _twilio_error(code, status, message)
        fields = received.fields
        to, body = fields.get("To", ""), fields.get("Body", "")
        sender = fields.get("From") or fields.get("MessagingServiceSid") or ""
        if not to.startswith("+") or not to[1:].isdigit():
            return _twilio_error(21211, 400, f"The 'To' number {to} is not a valid phone number.")
        # 21603 / 21617 are not in providers.md (UNVERIFIED codes; permanent either way).
        if not sender:
            return _twilio_error(21603, 400, "A 'From' phone number is required.")
        if not body or len(body) > 1600:
            return _twilio_error(
                21617, 400, "The concatenated message body exceeds 1600 characters."
            )
        sid = "SM" + secrets.token_hex(16)
        parts = _parts(body)
        self._accept(SentSms(sid, to, sender, body, None, fields.get("StatusCallback"), parts))
        now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        resource = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": to,
            "from": fields.get("From"),
            "messaging_service_sid": fields.get("MessagingServiceSid"),
            "body": body,
            "status": "queued",
            "num_segments": str(parts),
            "num_media": "0",
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
        }
        return web.json_response(resource, status=201)

    def status_params(
        self, sms: SentSms, status: str, error_code: int | None = None
    ) -> list[tuple[str, str]]:
        params = [
            ("MessageSid", sms.id),
            ("SmsSid", sms.id),
            ("AccountSid", self.account_sid),
            ("From", sms.sender),
            ("To", sms.to),
            ("MessageStatus", status),
            ("SmsStatus", status),
            ("ApiVersion", "2010-04-01"),
        ]
        if error_code is not None:
            params.append(("ErrorCode", str(error_code)))
        return params

    def push_report(
        self,
        sms: SentSms,
        status: str,
        error_code: int | None = None,
        *,
        url: str | None = None,
        signing_token: str | None = None,
    ) -> tuple[int, str]:
        """POST a signed status callback (form) to ``url`` or the message's StatusCallback."""
        target = url or sms.callback_url
        assert target, "no StatusCallback"
        params = self.status_params(sms, status, error_code)
        signature = twilio_signature(signing_token or self.auth_token, target, params)
        headers = {"X-Twilio-Signature": signature}
        result: tuple[int, str] = self._run(
            self._push("POST", target, data=params, headers=headers)
        )
        return result

    def push_json(self, url: str, payload: Any) -> tuple[int, str]:
        """POST a JSON webhook signed the ``bodySHA256`` way (URL + body hash)."""
        body = json.dumps(payload).encode()
        signed_url = twilio_json_callback_url(url, body)
        headers = {
            "X-Twilio-Signature": twilio_signature(self.auth_token, signed_url),
            "Content-Type": "application/json",
        }
        result: tuple[int, str] = self._run(
            self._push("POST", signed_url, data=body, headers=headers)
        )
        return result


def _twilio_error(code: int, status: int, message: str) -> web.Response:
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return web.json_response(body, status=status)


# -- a generic JSON gateway --------------------------------------------------------------


@dataclass(frozen=True)
class GenericShape:
    """The fake generic gateway's API: paths of fields in its request and answer."""

    path: str = "/v1/messages"
    auth_header: str = "Authorization"
    auth_value: str = "Bearer generic-token"
    to_field: str = "to"
    sender_field: str = "from"
    text_field: str = "text"
    reference_field: str | None = "reference"
    callback_field: str | None = "callback_url"
    id_field: str = "id"  # top-level key of the answer's message id
    wrap_answer: str | None = None  # e.g. "data": the answer is {"data": {...}}
    unique_reference: bool = False  # a repeated reference → error "duplicate" (409)
    error_status: int = 400  # HTTP status of an error answer (200: errors inside a 200)
    extra_required: dict[str, Any] = field(default_factory=dict)  # fields that must match


class FakeGenericGateway(FakeHttpServer):
    """A JSON SMS gateway shaped by :class:`GenericShape`; errors are
    ``{"error": {"code": "...", "message": "..."}}``."""

    def __init__(self, shape: GenericShape | None = None) -> None:
        super().__init__()
        self.shape = shape or GenericShape()
        self._ids = itertools.count(1)
        self._references: dict[str, str] = {}

    def _routes(self, app: web.Application) -> None:
        async def send(request: web.Request) -> web.StreamResponse:
            return await self._faulty(request, self._send)

        app.router.add_post(self.shape.path, send)

    def error(self, code: str, *, status: int | None = None, times: int | None = 1) -> None:
        self._add(_Fault(error=(code, status), times=times))

    def _error(self, code: str, message: str, status: int | None = None) -> web.Response:
        body = {"error": {"code": code, "message": message}}
        return web.json_response(body, status=status or self.shape.error_status)

    async def _send(self, request: web.Request, fault: _Fault | None) -> web.Response:
        received = await self._record(request)
        shape = self.shape
        if request.headers.get(shape.auth_header) != shape.auth_value:
            return self._error("unauthorized", "bad credentials", 401)
        if fault is not None and fault.error is not None:
            code, status = fault.error
            return self._error(code, "injected", status)
        document = received.json
        if not isinstance(document, dict):
            return self._error("bad_request", "JSON object expected")
        for name, value in shape.extra_required.items():
            if get_path(document, name) != value:
                return self._error("bad_request", f"{name} must be {value!r}")
        to = get_path(document, shape.to_field)
        text = get_path(document, shape.text_field)
        sender = get_path(document, shape.sender_field)
        if not isinstance(to, str) or not to or not isinstance(text, str) or not text:
            return self._error("bad_request", "to and text are required")
        reference = get_path(document, shape.reference_field) if shape.reference_field else None
        with self._lock:
            earlier = self._references.get(str(reference)) if reference is not None else None
        if shape.unique_reference and earlier is not None:
            body = {"error": {"code": "duplicate", "message": "reference already used"}}
            body[shape.id_field] = earlier  # type: ignore[assignment]
            return web.json_response(body, status=409)
        message_id = f"gw-{next(self._ids)}"
        with self._lock:
            if reference is not None:
                self._references[str(reference)] = message_id
        callback = get_path(document, shape.callback_field) if shape.callback_field else None
        self._accept(
            SentSms(
                message_id,
                to,
                str(sender or ""),
                text,
                None if reference is None else str(reference),
                None if callback is None else str(callback),
                _parts(text),
            )
        )
        answer: dict[str, Any] = {shape.id_field: message_id, "status": "accepted"}
        if shape.wrap_answer:
            answer = {shape.wrap_answer: answer}
        return web.json_response(answer, status=202)

    def push_report(
        self, sms: SentSms, status: str, code: str | None = None, *, url: str | None = None
    ) -> tuple[int, str]:
        """POST a JSON report ``{"id", "status", "code", "timestamp", "reference"}``."""
        target = url or sms.callback_url
        assert target, "no callback URL"
        payload = {
            "id": sms.id,
            "status": status,
            "code": code,
            "timestamp": int(time.time()),
            "reference": sms.reference,
        }
        headers = {"Content-Type": "application/json"}
        result: tuple[int, str] = self._run(
            self._push("POST", target, data=json.dumps(payload), headers=headers)
        )
        return result


# -- our side of the callbacks ------------------------------------------------------------


class CallbackSink(FakeHttpServer):
    """Receives provider callbacks on any path and answers ``OK`` (or ``answer_status``)."""

    def __init__(self, answer_status: int = 200, answer_text: str = "OK") -> None:
        super().__init__()
        self.answer_status = answer_status
        self.answer_text = answer_text

    def _routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._receive)

    async def _receive(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.Response(status=self.answer_status, text=self.answer_text)
