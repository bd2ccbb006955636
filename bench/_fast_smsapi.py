"""A fast fake SMSAPI gateway for the benchmarks: a raw asyncio HTTP/1.1 server in its own process.

It answers ``POST /sms.do`` like SMSAPI (``format=json``): HTTP 200 with
``{"count":1,"list":[{"id":…,"points":0.16,"number":…,"status":"QUEUE","idx":…}]}``,
or ``{"error":53,…}`` when ``check_idx=1`` and the idx was accepted before, or
``{"error":101,…}`` without the right bearer token. Keep-alive, pipelined requests and
Content-Length bodies (form or JSON) are handled; chunked bodies are not (no client we
measure sends them for a form).

It keeps every idx it accepted, so a benchmark can check that each SMS went out exactly
once. Bench-only endpoints: ``GET /_stats`` (counts and the process's CPU seconds),
``GET /_idx`` (every accepted idx, JSON list), ``POST /_reset``.

It parses only what it needs (no parse_qsl: that alone cost ~70 µs a request here) and
runs on uvloop when available: ~35–50 µs of CPU a request including the socket calls,
so 20,000+ req/s on one core, ~10× the fastest client measured against it (``capacity``
below measures that in each run).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote_plus

from _common import free_port

_KEPT = frozenset((b"to", b"idx", b"check_idx"))
_OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "


def _header(head: bytes, name: bytes) -> bytes:
    """A header's value from a lower-cased request head (``name`` like b"\\r\\nhost:")."""
    start = head.find(name)
    if start < 0:
        return b""
    start += len(name)
    end = head.find(b"\r\n", start)
    return head[start : end if end >= 0 else len(head)].strip()


def _form(body: bytes) -> dict[bytes, bytes]:
    """A urlencoded form, values still encoded (parse_qsl costs ~70 µs here; this ~3)."""
    fields = {}
    for pair in body.split(b"&"):
        name, _, value = pair.partition(b"=")
        fields[name] = value
    return fields


def _text(raw: bytes) -> str:
    text = raw.decode("latin-1")
    return unquote_plus(text) if b"%" in raw or b"+" in raw else text


def _response(body: bytes, close: bool = False) -> bytes:
    tail = b"\r\nConnection: close\r\n\r\n" if close else b"\r\n\r\n"
    return _OK_HEAD + str(len(body)).encode() + tail + body


class _State:
    """What the fake remembers: accepted idx, counters. One process, one thread: no locks."""

    def __init__(self, token: str, accepted: mp.sharedctypes.Synchronized[int]) -> None:
        self.auth = f"bearer {token}".lower().encode()  # heads are compared lower-cased
        self.accepted_counter = accepted  # shared memory: the bench polls it cheaply
        self.idx: set[str] = set()
        self.order: list[str] = []
        self.requests = 0
        self.connections = 0  # opened since the last reset: few = keep-alive works
        self.duplicates = 0
        self.refused = 0
        self.next_id = 7074294081650020000
        self.epoch = int(time.time())

    def reset(self) -> None:
        self.idx.clear()
        self.order.clear()
        self.requests = self.connections = self.duplicates = self.refused = 0
        self.accepted_counter.value = 0

    def send(self, head: bytes, body: bytes) -> bytes:
        self.requests += 1
        if _header(head, b"\r\nauthorization:") != self.auth:
            self.refused += 1
            return b'{"error":101,"message":"Authorization failed"}'
        if _header(head, b"\r\ncontent-type:").startswith(b"application/json"):
            fields = {k: str(v) for k, v in json.loads(body).items()}
        else:
            fields = {k.decode(): _text(v) for k, v in _form(body).items() if k in _KEPT}
        idx = fields.get("idx", "")
        if idx and fields.get("check_idx") == "1" and idx in self.idx:
            self.duplicates += 1
            return b'{"error":53,"message":"Message with this idx was already sent"}'
        if idx:
            self.idx.add(idx)
            self.order.append(idx)
        self.accepted_counter.value += 1
        self.next_id += 1
        number = fields.get("to", "")
        # Only idx is caller-controlled free text: escape it; the number is digits.
        return (
            f'{{"count":1,"list":[{{"id":"{self.next_id}","points":0.16,"number":"{number}",'
            f'"date_sent":{self.epoch},"submitted_number":"{number}","status":"QUEUE",'
            f'"error":null,"idx":{json.dumps(idx)}}}]}}'
        ).encode()

    def handle(self, method: bytes, target: bytes, head: bytes, body: bytes) -> bytes:
        if method == b"POST" and target.split(b"?", 1)[0] == b"/sms.do":
            return _response(self.send(head, body))
        if target == b"/_stats":
            stats = {
                "requests": self.requests,
                "connections": self.connections,
                "accepted": len(self.order),
                "distinct": len(self.idx),
                "duplicates": self.duplicates,
                "refused": self.refused,
                "cpu_seconds": time.process_time(),
            }
            return _response(json.dumps(stats).encode())
        if target == b"/_idx":
            return _response(json.dumps(self.order).encode())
        if method == b"POST" and target == b"/_reset":
            self.reset()
            return _response(b"{}")
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"


class _Connection(asyncio.Protocol):
    """One client connection: parse whole requests out of the stream, answer in order."""

    def __init__(self, state: _State) -> None:
        self.state = state
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.state.connections += 1

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        answers: list[bytes] = []
        close = False
        while not close:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = bytes(self.buffer[:end]).lower()
            method, target, version = head.split(b"\r\n", 1)[0].split(b" ", 2)
            method = method.upper()
            if b"chunked" in _header(head, b"\r\ntransfer-encoding:"):
                answers.append(b"HTTP/1.1 501 Not Implemented\r\nConnection: close\r\n\r\n")
                close = True
                break
            length = int(_header(head, b"\r\ncontent-length:") or b"0")
            total = end + 4 + length
            if len(self.buffer) < total:
                break  # the body is still on its way
            body = bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            close = _header(head, b"\r\nconnection:") == b"close" or version == b"http/1.0"
            answers.append(self.state.handle(method, target, head, body))
        if answers and self.transport is not None:
            self.transport.write(b"".join(answers))
            if close:
                self.transport.close()


def _serve(
    port: int, token: str, accepted: mp.sharedctypes.Synchronized[int], ready: mp.synchronize.Event
) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # plain asyncio is ~30 % slower, still far above the clients
        pass

    async def main() -> None:
        state = _State(token, accepted)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _Connection(state), "127.0.0.1", port, backlog=1024, reuse_address=True
        )
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


@dataclass(frozen=True)
class FakeSmsapi:
    """A running fake: its base URL and the shared count of accepted SMS."""

    url: str
    port: int
    token: str
    accepted: mp.sharedctypes.Synchronized[int]

    def _call(self, method: str, path: str) -> object:
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            sock.sendall(
                f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            chunks = []
            while chunk := sock.recv(1 << 20):
                chunks.append(chunk)
        return json.loads(b"".join(chunks).split(b"\r\n\r\n", 1)[1])

    def stats(self) -> dict[str, float]:
        return self._call("GET", "/_stats")  # type: ignore[return-value]

    def accepted_idx(self) -> list[str]:
        return self._call("GET", "/_idx")  # type: ignore[return-value]

    def reset(self) -> None:
        self._call("POST", "/_reset")


@contextmanager
def fake_smsapi(token: str = "t") -> Iterator[FakeSmsapi]:
    """The fake in another process (another core than the measured client)."""
    port = free_port()
    ctx = mp.get_context("fork")  # like _common.smtp_sink; started before any loop runs here
    accepted = ctx.Value("q", 0, lock=False)
    ready = ctx.Event()
    process = ctx.Process(target=_serve, args=(port, token, accepted, ready), daemon=True)
    process.start()
    deadline = time.monotonic() + 30
    while not ready.wait(0.1):
        if not process.is_alive() or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the fake SMSAPI did not start")
    try:
        yield FakeSmsapi(f"http://127.0.0.1:{port}", port, token, accepted)
    finally:
        process.kill()
        process.join()


TEXT = "Dzień dobry, Pani laptop jest gotowy do odbioru w naszym serwisie. Zapraszamy!"
"""The bench's SMS (UCS-2 because of ń: 2 segments), composed by kanal and posted by the floor."""


def sms_form(i: int, prefix: str) -> dict[str, str]:
    """One ``sms.do`` form shaped as kanal's SmsapiGateway sends TEXT (a uuid idx, a
    notify_url with a token and the reference), so the floor posts what kanal posts."""
    idx = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}/{i}"))  # unique, like a delivery id
    return {
        "to": f"48601234{i % 1000:03d}",
        "from": "KANAL",
        "message": TEXT,
        "encoding": "utf-8",
        "format": "json",
        "idx": idx,
        "check_idx": "1",
        "max_parts": "2",
        "notify_url": "http://127.0.0.1:8000/callbacks/sms/bench"
        f"?k=674b56dc718e102817a7c7f31f9694d5e44a251f&ref={idx}",
    }


def capacity(fake: FakeSmsapi, count: int, in_flight: int = 32) -> tuple[float, float]:
    """(req/s a raw asyncio client gets with ``in_flight`` keep-alive connections, the fake's
    own capacity from its CPU time per request).

    The raw client does almost nothing per request, so the first figure is a floor under
    any real HTTP client; the second is what one core of the fake could serve.
    """
    from urllib.parse import urlencode

    bodies = [urlencode(sms_form(i, "cap")).encode() for i in range(count)]
    head = (
        "POST /sms.do HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\r\n"
    )
    requests = [head.format(token=fake.token, length=len(body)).encode() + body for body in bodies]

    async def connection(queue: Iterator[bytes]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", fake.port)
        for request in queue:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
            await reader.readexactly(length)
        writer.close()

    async def run() -> float:
        shared = iter(requests)
        started = time.perf_counter()
        await asyncio.gather(*(connection(shared) for _ in range(in_flight)))
        return time.perf_counter() - started

    fake.reset()
    cpu_before = fake.stats()["cpu_seconds"]
    elapsed = asyncio.run(run())
    stats = fake.stats()
    if stats["distinct"] != count or stats["duplicates"]:
        raise AssertionError(f"fake capacity run: {stats}")
    cpu = stats["cpu_seconds"] - cpu_before
    fake.reset()
    return count / elapsed, count / cpu
