"""A real SMTP server for tests (aiosmtpd), on 127.0.0.1, with faults on demand.

The server runs its own event loop in a background thread, so sync fixtures and
``asyncio.run`` tests alike can use it::

    @pytest.fixture
    def peer() -> Iterator[SmtpPeer]:
        with SmtpPeer() as peer:          # or SmtpPeer(tls="starttls", users={"jan": "pw"})
            yield peer

    def test_something(peer: SmtpPeer) -> None:
        peer.fail("RCPT", "550 5.1.1 No such user", recipients={"gone@x.pl"})
        ...  # send to peer.host, peer.port
        (message,) = peer.wait_for_messages(1)
        assert message.rcpt_tos == ["a@x.pl"] and message.parsed["Subject"] == "…"
        assert peer.connections == 1

Faults (each for the next ``times`` matching commands, ``times=None`` for ever):
``fail(stage, reply)`` answers with ``reply`` instead of accepting; ``drop(stage)`` closes
the connection instead of answering; ``delay(stage, seconds)`` answers late. Stages:
``"EHLO"``, ``"MAIL"``, ``"RCPT"`` (optionally only for some ``recipients``), ``"DATA"``
and ``"NOOP"``. DATA faults act once the whole message was read: ``fail("DATA", …)``
rejects it (not kept), ``drop("DATA")`` keeps it in ``messages`` and hangs up before the
250 (the lost-reply case: the sender will send it again).
``close_connections()`` hangs up on every client, as a server's idle timeout does.

Auth: ``users={"name": "password"}`` makes AUTH required, offering ``mechanisms``
(PLAIN, LOGIN, CRAM-MD5 by default; add "NTLM", checked by pyspnego's NTLM acceptor
against ``ntlm_domain``\\name). TLS: ``tls="starttls"`` or ``"implicit"`` with a
certificate for 127.0.0.1/localhost from a throwaway CA (trustme); clients trust it
with ``peer.client_tls_context()``.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import os
import secrets
import ssl
import tempfile
import threading
import warnings
from base64 import b64decode
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, Literal

import spnego
import spnego.exceptions
import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Stage = Literal["EHLO", "MAIL", "RCPT", "DATA", "NOOP"]


@dataclass(frozen=True)
class Received:
    """One message the peer accepted."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    mail_options: list[str]
    login: str | None  # the authenticated user, if any
    queue_id: str

    @property
    def parsed(self) -> EmailMessage:
        message = BytesParser(policy=policy.default).parsebytes(self.raw)
        assert isinstance(message, EmailMessage)
        return message

    @property
    def message_id(self) -> str | None:
        value = self.parsed["Message-ID"]
        return None if value is None else str(value)


@dataclass
class _Fault:
    stage: Stage
    reply: str | None = None
    drop: bool = False
    delay: float = 0.0
    times: int | None = 1
    recipients: frozenset[str] | None = None


@dataclass
class _State:
    """Everything the test thread and the server thread share, under one lock."""

    lock: threading.Condition = field(default_factory=threading.Condition)
    messages: list[Received] = field(default_factory=list)
    faults: list[_Fault] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    helo_names: list[str] = field(default_factory=list)
    connections: int = 0
    auth_failures: int = 0


class _PeerServer(SMTP):
    """aiosmtpd's server, counting connections and letting the peer hang up on it."""

    def __init__(self, peer: SmtpPeer, **kwargs: Any) -> None:
        super().__init__(peer._handler, **kwargs)
        self._peer = peer

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        first = self._original_transport is None and self.transport is None
        super().connection_made(transport)
        if first:  # not the second call that STARTTLS makes
            self._peer._opened(self)

    def connection_lost(self, error: Exception | None) -> None:
        self._peer._closed(self)
        super().connection_lost(error)


async def _hang_up(server: SMTP) -> None:
    assert server.transport is not None
    server.transport.close()
    await asyncio.sleep(3600)  # cancelled as soon as the connection is lost


class _Handler:
    """aiosmtpd hooks: record, apply faults, authenticate."""

    def __init__(self, peer: SmtpPeer) -> None:
        self._peer = peer
        self._queue_ids = itertools.count(1)

    async def _fault(self, server: SMTP, stage: Stage, recipient: str | None = None) -> str | None:
        """Apply the fault due for ``stage``: wait, hang up, or the reply to give instead."""
        fault = self._peer._take_fault(stage, recipient)
        if fault is None:
            return None
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            await _hang_up(server)
        return fault.reply

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self._peer._record("EHLO", helo=hostname)
        session.host_name = hostname
        reply = await self._fault(server, "EHLO")
        return [reply] if reply else responses

    async def handle_NOOP(
        self, server: SMTP, session: Session, envelope: Envelope, arg: str
    ) -> str:
        self._peer._record("NOOP")
        return await self._fault(server, "NOOP") or "250 OK"

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._peer._record("RSET")
        return "250 OK"

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._peer._record("QUIT")
        return "221 Bye"

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self._peer._record("MAIL")
        reply = await self._fault(server, "MAIL")
        if reply:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self._peer._record("RCPT")
        reply = await self._fault(server, "RCPT", address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._peer._record("DATA")
        # A DATA drop keeps the message first: "accepted, but the 250 was lost" is the case
        # worth testing (the sender sends it again).
        fault = self._peer._take_fault("DATA", None)
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.reply:
            return fault.reply
        queue_id = f"Q{next(self._queue_ids):08X}"
        assert envelope.mail_from is not None and envelope.original_content is not None
        auth = session.auth_data
        self._peer._received(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                raw=bytes(envelope.original_content),
                mail_options=list(envelope.mail_options),
                login=auth.login.decode() if isinstance(auth, LoginPassword) else None,
                queue_id=queue_id,
            )
        )
        if fault is not None and fault.drop:
            await _hang_up(server)
        return f"250 2.0.0 Ok: queued as {queue_id}"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        """PLAIN and LOGIN land here with a LoginPassword."""
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        if self._peer.users.get(login) == password and login:
            return AuthResult(success=True, auth_data=data)
        self._peer._auth_failed()
        return AuthResult(success=False, handled=False)

    async def auth_CRAM__MD5(self, server: SMTP, args: list[str]) -> AuthResult:
        challenge = f"<{secrets.token_hex(8)}@peer.test>".encode()
        answer = await server.challenge_auth(challenge)
        if not isinstance(answer, bytes):
            return AuthResult(success=False, handled=True)
        login, _, digest = answer.decode().rpartition(" ")
        password = self._peer.users.get(login)
        if password is not None:
            expected = hmac.new(password.encode(), challenge, "md5").hexdigest()
            if hmac.compare_digest(expected, digest):
                return AuthResult(success=True, auth_data=LoginPassword(login.encode(), b""))
        self._peer._auth_failed()
        return AuthResult(success=False, handled=False)

    async def auth_NTLM(self, server: SMTP, args: list[str]) -> AuthResult:
        context = spnego.server(hostname="peer.test", service="SMTP", protocol="ntlm")
        if len(args) == 2:
            negotiate: object = b64decode(args[1])
        else:
            negotiate = await server.challenge_auth(b"")
        if not isinstance(negotiate, bytes):
            return AuthResult(success=False, handled=True)
        try:
            challenge = context.step(negotiate)
            answer = await server.challenge_auth(challenge or b"")
            if not isinstance(answer, bytes):
                return AuthResult(success=False, handled=True)
            context.step(answer)
        except spnego.exceptions.SpnegoError:
            self._peer._auth_failed()
            return AuthResult(success=False, handled=False)
        principal = str(context.client_principal)
        return AuthResult(success=True, auth_data=LoginPassword(principal.encode(), b""))


class SmtpPeer:
    """An SMTP server on 127.0.0.1 (a free port) in a background thread; see the module."""

    def __init__(
        self,
        *,
        tls: Literal["none", "starttls", "implicit"] = "none",
        users: Mapping[str, str] | None = None,
        mechanisms: Iterable[str] = ("PLAIN", "LOGIN", "CRAM-MD5"),
        ntlm_domain: str = "KANAL",
        smtputf8: bool = True,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.tls = tls
        self.users = dict(users or {})
        self.mechanisms = {mechanism.upper() for mechanism in mechanisms}
        self._ntlm_domain = ntlm_domain
        self._smtputf8 = smtputf8
        self._state = _State()
        self._handler = _Handler(self)
        self._open: set[_PeerServer] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._ntlm_file: str | None = None
        self._saved_ntlm_env: str | None = None
        self.ca: trustme.CA | None = None
        self._server_tls: ssl.SSLContext | None = None
        if tls != "none":
            self.ca = trustme.CA()
            self._server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(self._server_tls)

    # -- life cycle ----------------------------------------------------------------------

    def start(self) -> SmtpPeer:
        if "NTLM" in self.mechanisms:
            self._setup_ntlm()
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        if not self._loop.is_running():
            self._loop.close()
        if self._ntlm_file is not None:
            os.unlink(self._ntlm_file)
            if self._saved_ntlm_env is None:
                os.environ.pop("NTLM_USER_FILE", None)
            else:
                os.environ["NTLM_USER_FILE"] = self._saved_ntlm_env
            self._ntlm_file = None

    def __enter__(self) -> SmtpPeer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _setup_ntlm(self) -> None:
        # pyspnego's NTLM acceptor reads "DOMAIN:user:password" lines from NTLM_USER_FILE.
        handle, path = tempfile.mkstemp(prefix="ntlm-users-")
        with os.fdopen(handle, "w") as file:
            for user, password in self.users.items():
                file.write(f"{self._ntlm_domain}:{user}:{password}\n")
        self._ntlm_file = path
        self._saved_ntlm_env = os.environ.get("NTLM_USER_FILE")
        os.environ["NTLM_USER_FILE"] = path

    async def _listen(self) -> None:
        self._server = await self._loop.create_server(
            self._make_server,
            host=self.host,
            port=0,
            ssl=self._server_tls if self.tls == "implicit" else None,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def _make_server(self) -> _PeerServer:
        excluded = [m for m in ("PLAIN", "LOGIN", "CRAM-MD5", "NTLM") if m not in self.mechanisms]
        with warnings.catch_warnings():
            # "AUTH without TLS" is exactly what some of the tests want.
            warnings.simplefilter("ignore")
            return _PeerServer(
                self,
                loop=self._loop,
                hostname="peer.test",
                enable_SMTPUTF8=self._smtputf8,
                tls_context=self._server_tls if self.tls == "starttls" else None,
                require_starttls=self.tls == "starttls",
                auth_required=bool(self.users),
                auth_require_tls=False,
                auth_exclude_mechanism=excluded,
                authenticator=self._handler.authenticate,
            )

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for server in list(self._open):
            if isinstance(server.transport, asyncio.Transport):
                server.transport.abort()
        # Let the sessions see their connections go, then end whatever is left.
        await asyncio.sleep(0.01)
        tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- what the tests see and set ------------------------------------------------------

    @property
    def messages(self) -> list[Received]:
        with self._state.lock:
            return list(self._state.messages)

    @property
    def commands(self) -> list[str]:
        """Every command verb seen (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), in order."""
        with self._state.lock:
            return list(self._state.commands)

    @property
    def helo_names(self) -> list[str]:
        with self._state.lock:
            return list(self._state.helo_names)

    @property
    def connections(self) -> int:
        """Connections accepted since start (or the last ``reset``)."""
        with self._state.lock:
            return self._state.connections

    @property
    def open_connections(self) -> int:
        with self._state.lock:
            return len(self._open)

    @property
    def auth_failures(self) -> int:
        with self._state.lock:
            return self._state.auth_failures

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> list[Received]:
        """The messages once at least ``count`` arrived; AssertionError after ``timeout``."""
        with self._state.lock:
            arrived = self._state.lock.wait_for(
                lambda: len(self._state.messages) >= count, timeout=timeout
            )
            assert arrived, f"{len(self._state.messages)} of {count} messages arrived"
            return list(self._state.messages)

    def wait_closed(self, timeout: float = 5.0) -> None:
        """Return once no client is connected; AssertionError after ``timeout``."""
        with self._state.lock:
            closed = self._state.lock.wait_for(lambda: not self._open, timeout=timeout)
            assert closed, f"{len(self._open)} connections still open"

    def fail(
        self,
        stage: Stage,
        reply: str,
        *,
        times: int | None = 1,
        recipients: Iterable[str] | None = None,
    ) -> None:
        """Answer the next ``times`` ``stage`` commands with ``reply`` (e.g. "451 4.3.0 …")."""
        self._add(_Fault(stage, reply=reply, times=times, recipients=_set(recipients)))

    def drop(self, stage: Stage, *, times: int | None = 1) -> None:
        """Close the connection instead of answering the next ``times`` ``stage`` commands."""
        self._add(_Fault(stage, drop=True, times=times))

    def delay(self, stage: Stage, seconds: float, *, times: int | None = 1) -> None:
        """Answer the next ``times`` ``stage`` commands ``seconds`` late."""
        self._add(_Fault(stage, delay=seconds, times=times))

    def clear_faults(self) -> None:
        with self._state.lock:
            self._state.faults.clear()

    def reset(self) -> None:
        """Forget messages, commands, counters and faults (open connections stay)."""
        with self._state.lock:
            self._state.messages.clear()
            self._state.faults.clear()
            self._state.commands.clear()
            self._state.helo_names.clear()
            self._state.connections = 0
            self._state.auth_failures = 0

    def close_connections(self) -> None:
        """Hang up on every connected client, as a server's idle timeout does."""

        async def close_all() -> None:
            for server in list(self._open):
                if server.transport is not None:
                    server.transport.close()
            await asyncio.sleep(0.05)

        asyncio.run_coroutine_threadsafe(close_all(), self._loop).result(timeout=5)

    def client_tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this peer's certificate (and checks it)."""
        assert self.ca is not None, "the peer was started without TLS"
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    # -- called from the server thread ---------------------------------------------------

    def _add(self, fault: _Fault) -> None:
        with self._state.lock:
            self._state.faults.append(fault)

    def _take_fault(self, stage: Stage, recipient: str | None) -> _Fault | None:
        with self._state.lock:
            for fault in self._state.faults:
                if fault.stage != stage:
                    continue
                if fault.recipients is not None and recipient not in fault.recipients:
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._state.faults.remove(fault)
                return fault
        return None

    def _record(self, command: str, helo: str | None = None) -> None:
        with self._state.lock:
            self._state.commands.append(command)
            if helo is not None:
                self._state.helo_names.append(helo)

    def _received(self, message: Received) -> None:
        with self._state.lock:
            self._state.messages.append(message)
            self._state.lock.notify_all()

    def _auth_failed(self) -> None:
        with self._state.lock:
            self._state.auth_failures += 1

    def _opened(self, server: _PeerServer) -> None:
        with self._state.lock:
            self._state.connections += 1
            self._open.add(server)

    def _closed(self, server: _PeerServer) -> None:
        with self._state.lock:
            self._open.discard(server)
            self._state.lock.notify_all()


def _set(values: Iterable[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)
