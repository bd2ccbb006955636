"""Email over SMTP (aiosmtplib), on pooled connections that stay open between sends.

``SmtpChannel.send(settings, envelope)`` runs one SMTP transaction and returns a typed
``DeliveryResult``. Connections are kept per ``SmtpSettings`` (at most ``max_connections``
each, so that many sends run at once) and reused: opening a connection costs a TCP and
often a TLS handshake and AUTH, several round trips, where a transaction on an open one
costs three (MAIL, RCPT, DATA).

Result codes: ``RetryLater`` when trying again later can help, ``Failed`` when it cannot.

- ``smtp_<NNN>`` — the server replied NNN (to the greeting, EHLO, MAIL, the main RCPT or
  DATA): ``RetryLater`` for 4xx (``smtp_451``, ``smtp_421``), ``Failed`` for 5xx
  (``smtp_550``, ``smtp_554``).
- ``smtp_auth_<NNN>`` — AUTH refused: ``Failed`` for 5xx (``smtp_auth_535``: the settings
  must change first), ``RetryLater`` for 4xx (``smtp_auth_454``). ``smtp_auth_ntlm``
  (``Failed``): the NTLM exchange itself broke.
- ``RetryLater``: ``smtp_connect`` (refused, unreachable, lost before the session began),
  ``smtp_timeout`` (no reply within ``settings.timeout``), ``smtp_dropped`` (lost during
  the transaction; if that was after DATA the message may have arrived, so delivery is
  at-least-once), ``smtp_tls`` (TLS handshake or certificate failed), ``smtp_error``
  (any other client-side SMTP error).
- ``Failed``: ``smtp_config`` (the server lacks what the settings need: STARTTLS,
  SMTPUTF8; or AUTH without username and password), ``smtp_envelope`` (no recipient, or an
  address that cannot be written in SMTP).

The first recipient of an envelope is the main one: its refusal decides the result. A
later one (a BCC copy) that is refused does not stop the message, which is ``Sent`` with
the refusal told in ``detail``. ``Sent.provider_message_id`` is the queue id found in the
250 reply to DATA (Postfix, Exim, Sendmail, Exchange, Gmail, SES formats), else None;
``Sent.detail`` is that reply's text.

A channel belongs to one event loop; ``aclose()`` ends its connections with QUIT.
"""

import asyncio
import re
import socket
import ssl
import time
from base64 import b64decode, b64encode
from binascii import Error as Base64Error
from dataclasses import dataclass, field
from typing import Literal

import spnego
import spnego.exceptions
from aiosmtplib import (
    SMTP,
    SMTPAuthenticationError,
    SMTPConnectError,
    SMTPException,
    SMTPRecipientRefused,
    SMTPResponseException,
    SMTPServerDisconnected,
    SMTPTimeoutError,
)

from kanal.channels.base import DeliveryResult, Failed, RetryLater, Sent
from kanal.core.mail import smtp_address

__all__ = ["Envelope", "SmtpChannel", "SmtpSettings", "queue_id"]


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to send; equal settings share one connection pool."""

    host: str
    port: int
    security: Literal["starttls", "tls", "none"]
    username: str | None
    password: str | None = field(repr=False)
    auth: Literal["PLAIN", "LOGIN", "CRAM-MD5", "NTLM", "NONE"]
    helo_name: str | None  # the served domain said in EHLO; None: this host's FQDN
    timeout: float = 30
    validate_certs: bool = True


@dataclass(frozen=True)
class Envelope:
    """One SMTP transaction: MAIL FROM, RCPT TO (the first is the main recipient), DATA.

    International domains may be given in Unicode: they go out as punycode. An empty
    ``mail_from`` is the null reverse-path ``<>``.
    """

    mail_from: str
    recipients: tuple[str, ...]
    message: bytes
    # UTF-8 in the headers (RFC 6532) needs SMTPUTF8; a non-ASCII envelope address turns it
    # on by itself.
    smtputf8: bool = False


# Queue ids in 250 replies to DATA, by server family.
_QUEUE_ID_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"queued as ([A-Za-z0-9]+)",  # Postfix
        r"\bid=([A-Za-z0-9-]+)",  # Exim
        r"InternalId=(\d+)",  # Exchange
        r"^(?:\d\.\d\.\d+\s+)?([A-Za-z0-9]{8,})\s+Message accepted",  # Sendmail
        r"^(?:\d\.\d\.\d+\s+)?OK\s+\d+\s+(\S+)\s+-\s+gsmtp",  # Gmail
        r"^Ok\s+([0-9a-f][0-9a-f-]{20,})$",  # Amazon SES
    )
)


def queue_id(reply: str) -> str | None:
    """The queue id in a 250 reply to DATA, when the server names one."""
    for pattern in _QUEUE_ID_PATTERNS:
        match = pattern.search(reply)
        if match:
            return match.group(1)
    return None


def _reply(code: int, message: str, prefix: str = "smtp") -> RetryLater | Failed:
    # RFC 5321 4.2.1: 5yz is permanent, anything else that is not success is worth a retry.
    if 500 <= code < 600:
        return Failed(code=f"{prefix}_{code}", reason=message)
    return RetryLater(code=f"{prefix}_{code}", reason=message)


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _classify(exc: Exception, *, connecting: bool = False) -> RetryLater | Failed:
    """The result an aiosmtplib or socket failure stands for (see the module's table)."""
    if isinstance(exc, SMTPAuthenticationError):
        return _reply(exc.code, exc.message, prefix="smtp_auth")
    if isinstance(exc, SMTPResponseException):
        return _reply(exc.code, exc.message)
    tls_error = _ssl_cause(exc)
    if tls_error is not None:
        return RetryLater(code="smtp_tls", reason=str(tls_error))
    if isinstance(exc, SMTPTimeoutError | TimeoutError):
        return RetryLater(code="smtp_timeout", reason=str(exc) or "timed out")
    if isinstance(exc, SMTPConnectError) or (connecting and isinstance(exc, OSError)):
        return RetryLater(code="smtp_connect", reason=str(exc) or "connection lost")
    if isinstance(exc, SMTPServerDisconnected | OSError):
        return RetryLater(code="smtp_dropped", reason=str(exc) or "connection lost")
    if isinstance(exc, SMTPException) and "STARTTLS" in exc.message:
        return Failed(code="smtp_config", reason=exc.message)
    return RetryLater(code="smtp_error", reason=str(exc))


def _addresses(envelope: Envelope) -> tuple[str, list[str]]:
    """(reverse-path, recipients) as SMTP writes them; _Refused when there is nothing to
    send to or an address is malformed (CR/LF included: no command injection)."""
    if not envelope.recipients:
        raise _Refused(Failed(code="smtp_envelope", reason="no recipient"))
    try:
        mail_from = smtp_address(envelope.mail_from) if envelope.mail_from else ""
        return mail_from, [smtp_address(recipient) for recipient in envelope.recipients]
    except ValueError as exc:
        raise _Refused(Failed(code="smtp_envelope", reason=str(exc))) from exc


class _Refused(Exception):
    """A transaction that ended in a result before success, on a connection still usable."""

    def __init__(self, result: RetryLater | Failed, *, stale: bool = False) -> None:
        super().__init__(result.reason)
        self.result = result
        self.stale = stale  # failed before DATA in a way a fresh connection may not


# Whatever else aiosmtplib or the socket may raise mid-transaction: the connection is
# dropped and the failure classified (see _classify).
_SESSION_ERRORS = (SMTPException, OSError)


@dataclass
class _Connection:
    smtp: SMTP
    last_used: float


_default_helo: str | None = None


async def _helo_name(settings: SmtpSettings) -> str:
    global _default_helo
    if settings.helo_name:
        return settings.helo_name
    if _default_helo is None:
        # getfqdn may wait on DNS: once per process, off the loop.
        _default_helo = await asyncio.to_thread(socket.getfqdn)
    return _default_helo


async def _auth_ntlm(smtp: SMTP, settings: SmtpSettings, username: str, password: str) -> None:
    """AUTH NTLM as Exchange speaks it ([MS-SMTPNTLM]): negotiate, challenge, authenticate.

    aiosmtplib has no NTLM, so the three messages come from pyspnego's NTLM client.
    """
    try:
        context = spnego.client(
            username, password, hostname=settings.host, service="SMTP", protocol="ntlm"
        )
        negotiate = context.step()
    except spnego.exceptions.SpnegoError as exc:
        raise _Refused(Failed(code="smtp_auth_ntlm", reason=f"NTLM: {exc}")) from exc
    reply = await smtp.execute_command(b"AUTH", b"NTLM")
    if reply.code != 334:
        raise SMTPAuthenticationError(reply.code, reply.message)
    reply = await smtp.execute_command(b64encode(negotiate or b""))
    if reply.code != 334:
        raise SMTPAuthenticationError(reply.code, reply.message)
    try:
        challenge = b64decode(reply.message.strip(), validate=True)
        authenticate = context.step(challenge)
    except (Base64Error, spnego.exceptions.SpnegoError) as exc:
        raise _Refused(Failed(code="smtp_auth_ntlm", reason=f"NTLM: {exc}")) from exc
    reply = await smtp.execute_command(b64encode(authenticate or b""))
    if reply.code != 235:
        raise SMTPAuthenticationError(reply.code, reply.message)


class _Pool:
    """The open connections for one ``SmtpSettings``."""

    def __init__(
        self,
        settings: SmtpSettings,
        max_connections: int,
        noop_after: float,
        tls_context: ssl.SSLContext | None,
    ) -> None:
        self.settings = settings
        self.closed = False
        self._noop_after = noop_after
        self._tls_context = tls_context
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Connection] = []  # most recently used last: taken first (warm)

    async def send(self, envelope: Envelope) -> DeliveryResult:
        async with self._slots:
            try:
                connection, reused = await self._checkout()
            except _Refused as refused:
                return refused.result
            except (SMTPException, OSError) as exc:
                return _classify(exc, connecting=True)
            result, stale = await self._transact(connection, envelope)
            if stale and reused:
                # The server had closed (or was closing) the idle connection and no data
                # was sent: one more try on a fresh connection is safe and usually works.
                try:
                    connection = await self._connect()
                except _Refused as refused:
                    return refused.result
                except (SMTPException, OSError) as exc:
                    return _classify(exc, connecting=True)
                result, _ = await self._transact(connection, envelope)
            return result

    async def _checkout(self) -> tuple[_Connection, bool]:
        while self._idle:
            connection = self._idle.pop()
            if not connection.smtp.is_connected:
                continue  # the server hung up while it was idle
            if time.monotonic() - connection.last_used > self._noop_after:
                try:
                    await connection.smtp.noop()
                except (SMTPException, OSError):
                    connection.smtp.close()
                    continue
                except BaseException:  # cancelled: the connection's state is unknown
                    connection.smtp.close()
                    raise
            return connection, True
        return await self._connect(), False

    async def _connect(self) -> _Connection:
        settings = self.settings
        tls = settings.security != "none"
        smtp = SMTP(
            hostname=settings.host,
            port=settings.port,
            timeout=settings.timeout,
            use_tls=settings.security == "tls",
            start_tls=settings.security == "starttls",
            validate_certs=settings.validate_certs,
            tls_context=self._tls_context if tls else None,
            local_hostname=await _helo_name(settings),
        )
        try:
            await smtp.connect()
            if smtp.is_ehlo_or_helo_needed:
                await smtp.ehlo()
            await self._authenticate(smtp)
        except BaseException:
            smtp.close()
            raise
        return _Connection(smtp=smtp, last_used=time.monotonic())

    async def _authenticate(self, smtp: SMTP) -> None:
        settings = self.settings
        if settings.auth == "NONE":
            return
        if settings.username is None or settings.password is None:
            reason = f"AUTH {settings.auth} needs a username and a password"
            raise _Refused(Failed(code="smtp_config", reason=reason))
        if settings.auth == "PLAIN":
            await smtp.auth_plain(settings.username, settings.password)
        elif settings.auth == "LOGIN":
            await smtp.auth_login(settings.username, settings.password)
        elif settings.auth == "CRAM-MD5":
            await smtp.auth_crammd5(settings.username, settings.password)
        else:
            await _auth_ntlm(smtp, settings, settings.username, settings.password)

    async def _transact(
        self, connection: _Connection, envelope: Envelope
    ) -> tuple[DeliveryResult, bool]:
        """(result, stale). The connection goes back to the pool if it is still sound."""
        smtp = connection.smtp
        sound = False
        try:
            result = await self._mail(smtp, envelope)
            sound = True
            return result, False
        except _Refused as refused:
            # A refused command leaves the session usable once the transaction is reset.
            sound = await self._reset(smtp)
            return refused.result, refused.stale
        except _SESSION_ERRORS as exc:
            return _classify(exc), False
        finally:
            if sound and smtp.is_connected and not self.closed:
                connection.last_used = time.monotonic()
                self._idle.append(connection)
            else:
                smtp.close()

    async def _mail(self, smtp: SMTP, envelope: Envelope) -> Sent:
        mail_from, recipients = _addresses(envelope)
        utf8 = envelope.smtputf8 or not all(a.isascii() for a in (mail_from, *recipients))
        options: list[str] = []
        if utf8:
            if not smtp.supports_extension("smtputf8"):
                reason = "the server does not offer SMTPUTF8, which this message needs"
                raise _Refused(Failed(code="smtp_config", reason=reason))
            options.append("SMTPUTF8")
        if smtp.supports_extension("size"):
            options.append(f"SIZE={len(envelope.message)}")  # lets it refuse before DATA
        if smtp.supports_extension("8bitmime") and not envelope.message.isascii():
            options.append("BODY=8BITMIME")
        encoding = "utf-8" if utf8 else "ascii"

        refused_copies: list[str] = []
        try:
            await smtp.mail(mail_from, options=options, encoding=encoding)
            for index, recipient in enumerate(recipients):
                try:
                    await smtp.rcpt(recipient, encoding=encoding)
                except SMTPRecipientRefused as exc:
                    if index == 0:
                        raise
                    refused_copies.append(f"{recipient}: {exc.code} {exc.message}")
        except SMTPResponseException as exc:
            # 421: the server is closing this session (often: too many messages on one
            # connection); a fresh one may well be welcome.
            raise _Refused(_reply(exc.code, exc.message), stale=exc.code == 421) from exc
        except SMTPServerDisconnected as exc:
            # Lost before DATA: nothing was delivered, so another connection may try.
            raise _Refused(_classify(exc), stale=True) from exc
        except (ValueError, UnicodeError) as exc:
            raise _Refused(Failed(code="smtp_envelope", reason=str(exc))) from exc

        try:
            reply = await smtp.data(envelope.message)
        except SMTPResponseException as exc:
            raise _Refused(_reply(exc.code, exc.message)) from exc
        detail = reply.message
        if refused_copies:
            detail += "; copies refused: " + "; ".join(refused_copies)
        return Sent(provider_message_id=queue_id(reply.message), detail=detail)

    async def _reset(self, smtp: SMTP) -> bool:
        """RSET after a refused command; False when the connection should be dropped."""
        if not smtp.is_connected:
            return False
        try:
            await smtp.rset()
        except (SMTPException, OSError):
            return False
        return True

    async def aclose(self) -> None:
        self.closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            try:
                await asyncio.wait_for(connection.smtp.quit(), timeout=2)
            except (SMTPException, OSError, TimeoutError):
                pass
            finally:
                connection.smtp.close()


class SmtpChannel:
    """Sends envelopes over SMTP, reusing up to ``max_connections`` per settings.

    ``noop_after``: a connection idle longer than this (seconds) is checked with NOOP
    before use. ``tls_context``, when given, is used for every TLS connection instead of
    one built from ``validate_certs`` (a private CA, a client certificate).
    """

    def __init__(
        self,
        *,
        max_connections: int = 4,
        noop_after: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._max_connections = max_connections
        self._noop_after = noop_after
        self._tls_context = tls_context
        self._pools: dict[SmtpSettings, _Pool] = {}
        self._closed = False

    async def send(self, settings: SmtpSettings, envelope: Envelope) -> DeliveryResult:
        """One transaction; never raises for an SMTP or network failure (see the codes)."""
        if self._closed:
            raise RuntimeError("SmtpChannel is closed")
        pool = self._pools.get(settings)
        if pool is None:
            pool = _Pool(settings, self._max_connections, self._noop_after, self._tls_context)
            self._pools[settings] = pool
        return await pool.send(envelope)

    async def aclose(self) -> None:
        """QUIT every idle connection; connections in use close when their send ends."""
        self._closed = True
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
