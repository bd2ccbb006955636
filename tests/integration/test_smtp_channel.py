"""kanal.channels.smtp against a real SMTP server (tests/smtp_peer.py) on 127.0.0.1."""

import asyncio
import dataclasses
import socket
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from kanal.channels.base import Failed, RetryLater, Sent
from kanal.channels.smtp import Envelope, SmtpChannel, SmtpSettings, queue_id
from kanal.core.mail import Attachment, OutgoingEmail, build_email, make_message_id
from tests.smtp_peer import SmtpPeer

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@pytest.fixture
def peer() -> Iterator[SmtpPeer]:
    with SmtpPeer() as peer:
        yield peer


def settings_for(peer: SmtpPeer, **changes: Any) -> SmtpSettings:
    settings = SmtpSettings(
        host=peer.host,
        port=peer.port,
        security="none",
        username=None,
        password=None,
        auth="NONE",
        helo_name="kanal.test",
        timeout=5,
    )
    return dataclasses.replace(settings, **changes)


def email(n: int = 0, to: str = "ewa@example.pl", **changes: Any) -> OutgoingEmail:
    mail = OutgoingEmail(
        from_address="biuro@fixit.pl",
        from_name="FixIT Serwis",
        to=(("Ewa Dvořáková", to),),
        reply_to=None,
        subject=f"Naprawa nr {n} gotowa — zapraszamy",
        text="Dzień dobry,\ntelefon czeka na odbiór.\n",
        html="<p>Dzień dobry, <b>telefon</b> czeka.</p>",
        message_id=make_message_id("fixit.pl"),
        in_reply_to=None,
        references=(),
        automatic=True,
    )
    return dataclasses.replace(mail, **changes)


def envelope(n: int = 0, to: str = "ewa@example.pl", *copies: str) -> Envelope:
    return Envelope("bounce@fixit.pl", (to, *copies), build_email(email(n, to)))


async def send_all(channel: SmtpChannel, settings: SmtpSettings, *envelopes: Envelope) -> list[Any]:
    try:
        return [await channel.send(settings, item) for item in envelopes]
    finally:
        await channel.aclose()


# -- the happy path and the pool ----------------------------------------------------------


def test_message_arrives_whole(peer: SmtpPeer) -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 64
    mail = email(attachments=(Attachment("Faktura_łódź.pdf", "application/pdf", pdf),))
    item = Envelope("bounce@fixit.pl", ("ewa@example.pl",), build_email(mail))
    (result,) = run(send_all(SmtpChannel(), settings_for(peer), item))

    (received,) = peer.wait_for_messages(1)
    assert result == Sent(received.queue_id, f"2.0.0 Ok: queued as {received.queue_id}")
    assert received.mail_from == "bounce@fixit.pl"
    assert received.rcpt_tos == ["ewa@example.pl"]
    assert f"SIZE={len(item.message)}" in received.mail_options
    assert received.message_id == mail.message_id
    assert peer.helo_names == ["kanal.test"]
    parsed = received.parsed
    assert parsed["Subject"] == mail.subject
    assert parsed["Auto-Submitted"] == "auto-generated"
    body, attachment = parsed.iter_parts()
    assert [part.get_content_type() for part in body.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert attachment.get_filename() == "Faktura_łódź.pdf"
    assert attachment.get_payload(decode=True) == pdf


def test_one_connection_serves_many_sends(peer: SmtpPeer) -> None:
    items = [envelope(n) for n in range(20)]
    results = run(send_all(SmtpChannel(), settings_for(peer), *items))
    assert all(isinstance(result, Sent) for result in results)
    assert len(peer.wait_for_messages(20)) == 20
    assert peer.connections == 1
    assert peer.commands.count("EHLO") == 1
    assert peer.commands[-1] == "QUIT"  # aclose says goodbye
    peer.wait_closed()


def test_concurrent_sends_use_up_to_max_connections(peer: SmtpPeer) -> None:
    peer.delay("DATA", 0.3, times=None)

    async def scenario() -> tuple[list[Any], float]:
        channel = SmtpChannel(max_connections=4)
        started = time.monotonic()
        try:
            results = await asyncio.gather(
                *(channel.send(settings_for(peer), envelope(n)) for n in range(8))
            )
        finally:
            await channel.aclose()
        return results, time.monotonic() - started

    results, elapsed = run(scenario())
    assert all(isinstance(result, Sent) for result in results)
    assert peer.connections == 4
    assert elapsed < 8 * 0.3 / 2  # two rounds of four, not eight in a row


def test_separate_settings_get_separate_pools(peer: SmtpPeer) -> None:
    other = settings_for(peer, helo_name="other.test")
    channel = SmtpChannel()

    async def scenario() -> None:
        for n in range(3):
            assert isinstance(await channel.send(settings_for(peer), envelope(n)), Sent)
            assert isinstance(await channel.send(other, envelope(n)), Sent)
        await channel.aclose()

    run(scenario())
    assert peer.connections == 2
    assert sorted(peer.helo_names) == ["kanal.test", "other.test"]


# -- faults -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "reply", "expected"),
    [
        ("MAIL", "451 4.3.0 Try again later", RetryLater("smtp_451", "4.3.0 Try again later")),
        ("MAIL", "553 5.7.1 Sender not allowed", Failed("smtp_553", "5.7.1 Sender not allowed")),
        ("MAIL", "421 4.7.0 Closing", RetryLater("smtp_421", "4.7.0 Closing")),
        ("RCPT", "550 5.1.1 No such user", Failed("smtp_550", "5.1.1 No such user")),
        ("RCPT", "451 4.7.1 Greylisted", RetryLater("smtp_451", "4.7.1 Greylisted")),
        ("RCPT", "421 4.7.0 Closing", RetryLater("smtp_421", "4.7.0 Closing")),
        ("DATA", "554 5.7.1 Spam", Failed("smtp_554", "5.7.1 Spam")),
        ("DATA", "452 4.3.1 Disk full", RetryLater("smtp_452", "4.3.1 Disk full")),
        ("DATA", "421 4.7.0 Closing", RetryLater("smtp_421", "4.7.0 Closing")),
        ("EHLO", "421 4.7.0 Too busy", RetryLater("smtp_421", "4.7.0 Too busy")),
        ("EHLO", "554 5.7.1 Go away", Failed("smtp_554", "5.7.1 Go away")),
    ],
)
def test_replies_map_to_results(peer: SmtpPeer, stage: Any, reply: str, expected: Any) -> None:
    peer.fail(stage, reply)
    first, second = run(send_all(SmtpChannel(), settings_for(peer), envelope(1), envelope(2)))
    assert first == expected
    assert isinstance(second, Sent)  # the fault was for one command only
    assert [m.rcpt_tos for m in peer.messages] == [["ewa@example.pl"]]
    closing = reply.startswith("421") or stage == "EHLO"
    if not closing:
        # a refused transaction is reset and the same connection carries on
        assert "RSET" in peer.commands
        assert peer.connections == 1


def test_copy_refused_is_still_sent(peer: SmtpPeer) -> None:
    peer.fail("RCPT", "550 5.1.1 Unknown user", recipients={"archive@fixit.pl"})
    item = envelope(1, "ewa@example.pl", "archive@fixit.pl")
    (result,) = run(send_all(SmtpChannel(), settings_for(peer), item))
    assert isinstance(result, Sent)
    assert result.detail is not None
    assert "copies refused: archive@fixit.pl: 550 5.1.1 Unknown user" in result.detail
    assert peer.wait_for_messages(1)[0].rcpt_tos == ["ewa@example.pl"]


def test_main_recipient_refused_fails_even_with_copies(peer: SmtpPeer) -> None:
    peer.fail("RCPT", "550 5.1.1 Unknown user", recipients={"gone@example.pl"})
    item = envelope(1, "gone@example.pl", "archive@fixit.pl")
    (result,) = run(send_all(SmtpChannel(), settings_for(peer), item))
    assert result == Failed("smtp_550", "5.1.1 Unknown user")
    assert peer.messages == []
    assert "DATA" not in peer.commands


def test_connection_dropped_after_data(peer: SmtpPeer) -> None:
    peer.drop("DATA")
    first, second = run(send_all(SmtpChannel(), settings_for(peer), envelope(1), envelope(2)))
    assert isinstance(first, RetryLater) and first.code == "smtp_dropped"
    assert isinstance(second, Sent)
    assert peer.connections == 2
    assert len(peer.messages) == 2  # the first arrived, only its 250 was lost


def test_server_hangs_up_between_sends(peer: SmtpPeer) -> None:
    async def scenario() -> list[Any]:
        channel = SmtpChannel()
        first = await channel.send(settings_for(peer), envelope(1))
        peer.close_connections()
        second = await channel.send(settings_for(peer), envelope(2))
        await channel.aclose()
        return [first, second]

    assert all(isinstance(result, Sent) for result in run(scenario()))
    assert peer.connections == 2


def test_421_on_a_reused_connection_is_retried_on_a_fresh_one(peer: SmtpPeer) -> None:
    async def scenario() -> list[Any]:
        channel = SmtpChannel()
        first = await channel.send(settings_for(peer), envelope(1))
        peer.fail("MAIL", "421 4.7.0 Too many messages on this connection")
        second = await channel.send(settings_for(peer), envelope(2))
        await channel.aclose()
        return [first, second]

    assert all(isinstance(result, Sent) for result in run(scenario()))
    assert peer.connections == 2
    assert len(peer.messages) == 2


def test_idle_connection_is_checked_with_noop(peer: SmtpPeer) -> None:
    peer.drop("NOOP")
    results = run(send_all(SmtpChannel(noop_after=0), settings_for(peer), envelope(1), envelope(2)))
    assert all(isinstance(result, Sent) for result in results)
    assert "NOOP" in peer.commands
    assert peer.connections == 2  # the NOOP found it dead: a fresh one took over


def test_slow_server_times_out(peer: SmtpPeer) -> None:
    peer.delay("DATA", 3)
    started = time.monotonic()
    first, second = run(
        send_all(SmtpChannel(), settings_for(peer, timeout=0.5), envelope(1), envelope(2))
    )
    assert isinstance(first, RetryLater) and first.code == "smtp_timeout"
    assert time.monotonic() - started < 2.5
    assert isinstance(second, Sent)  # on a new connection: the late reply is not misread
    assert peer.connections == 2


def test_nothing_listening() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connection refused
        settings = SmtpSettings("127.0.0.1", port, "none", None, None, "NONE", "kanal.test")
        (result,) = run(send_all(SmtpChannel(), settings, envelope(1)))
    assert isinstance(result, RetryLater) and result.code == "smtp_connect"


def test_empty_envelope_fails(peer: SmtpPeer) -> None:
    item = Envelope("bounce@fixit.pl", (), b"Subject: x\r\n\r\nx\r\n")
    (result,) = run(send_all(SmtpChannel(), settings_for(peer), item))
    assert isinstance(result, Failed) and result.code == "smtp_envelope"


def test_envelope_addresses(peer: SmtpPeer) -> None:
    message = build_email(email(1))
    items = [
        Envelope("", ("jan@żółw.pl",), message),  # null sender, international domain
        Envelope("bounce@fixit.pl", ("ewa@x.pl>\r\nRCPT TO:<evil@x.pl",), message),
        Envelope("bounce@fixit.pl\r\nRSET", ("ewa@x.pl",), message),
    ]
    first, *bad = run(send_all(SmtpChannel(), settings_for(peer), *items))
    assert isinstance(first, Sent)
    (received,) = peer.wait_for_messages(1)
    assert received.mail_from == "<>"
    assert received.rcpt_tos == ["jan@xn--w-uga1v8h.pl"]
    assert all(isinstance(result, Failed) and result.code == "smtp_envelope" for result in bad)
    assert peer.commands.count("RCPT") == 1  # nothing of the bad ones reached the wire


# -- SMTPUTF8 -----------------------------------------------------------------------------


def test_smtputf8_address() -> None:
    mail = email(to="józef@example.pl")
    item = Envelope("bounce@fixit.pl", ("józef@example.pl",), build_email(mail), smtputf8=True)
    with SmtpPeer() as peer:
        (result,) = run(send_all(SmtpChannel(), settings_for(peer), item))
        assert isinstance(result, Sent)
        (received,) = peer.wait_for_messages(1)
        assert received.rcpt_tos == ["józef@example.pl"]
        assert "SMTPUTF8" in received.mail_options
    with SmtpPeer(smtputf8=False) as peer:
        unflagged = dataclasses.replace(item, smtputf8=False)  # the address alone tells
        (result,) = run(send_all(SmtpChannel(), settings_for(peer), unflagged))
        assert isinstance(result, Failed) and result.code == "smtp_config"
        assert peer.messages == []


# -- authentication -----------------------------------------------------------------------

USERS = {"jan@fixit.pl": "Tajne hasło 1"}


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "CRAM-MD5", "NTLM"])
def test_auth_mechanisms(mechanism: Any) -> None:
    with SmtpPeer(users=USERS, mechanisms=[mechanism]) as peer:
        good = settings_for(peer, auth=mechanism, username="jan@fixit.pl", password="Tajne hasło 1")
        if mechanism == "NTLM":
            good = dataclasses.replace(good, username="KANAL\\jan@fixit.pl")
        results = run(send_all(SmtpChannel(), good, envelope(1), envelope(2)))
        assert all(isinstance(result, Sent) for result in results)
        assert peer.connections == 1  # authenticated once, reused
        logins = {received.login for received in peer.wait_for_messages(2)}
        assert logins == {"KANAL\\jan@fixit.pl" if mechanism == "NTLM" else "jan@fixit.pl"}

        bad = dataclasses.replace(good, password="wrong")
        (result,) = run(send_all(SmtpChannel(), bad, envelope(3)))
        assert isinstance(result, Failed)
        assert result.code == "smtp_auth_535"
        assert peer.auth_failures == 1


def test_auth_required_but_not_configured() -> None:
    with SmtpPeer(users=USERS) as peer:
        (result,) = run(send_all(SmtpChannel(), settings_for(peer), envelope(1)))
    assert isinstance(result, Failed) and result.code == "smtp_530"


def test_auth_without_credentials_is_a_config_error(peer: SmtpPeer) -> None:
    (result,) = run(send_all(SmtpChannel(), settings_for(peer, auth="PLAIN"), envelope(1)))
    assert isinstance(result, Failed) and result.code == "smtp_config"


def test_mechanism_the_server_lacks() -> None:
    with SmtpPeer(users=USERS, mechanisms=["PLAIN"]) as peer:
        settings = settings_for(peer, auth="CRAM-MD5", username="jan@fixit.pl", password="x")
        (result,) = run(send_all(SmtpChannel(), settings, envelope(1)))
    assert isinstance(result, Failed) and result.code == "smtp_auth_504"


# -- TLS ----------------------------------------------------------------------------------


def test_starttls_without_certificate_checks() -> None:
    with SmtpPeer(tls="starttls", users=USERS) as peer:
        settings = settings_for(
            peer,
            security="starttls",
            validate_certs=False,
            auth="LOGIN",
            username="jan@fixit.pl",
            password="Tajne hasło 1",
        )
        results = run(send_all(SmtpChannel(), settings, envelope(1), envelope(2)))
        assert all(isinstance(result, Sent) for result in results)
        assert peer.connections == 1


def test_starttls_with_a_trusted_private_ca() -> None:
    with SmtpPeer(tls="starttls") as peer:
        settings = settings_for(peer, security="starttls")
        channel = SmtpChannel(tls_context=peer.client_tls_context())
        (result,) = run(send_all(channel, settings, envelope(1)))
        assert isinstance(result, Sent)
        # the same server with the system's CAs only: its certificate is not trusted
        (result,) = run(send_all(SmtpChannel(), settings, envelope(2)))
        assert isinstance(result, RetryLater) and result.code == "smtp_tls"
        assert len(peer.messages) == 1


def test_starttls_required_but_not_offered(peer: SmtpPeer) -> None:
    settings = settings_for(peer, security="starttls", validate_certs=False)
    (result,) = run(send_all(SmtpChannel(), settings, envelope(1)))
    assert isinstance(result, Failed) and result.code == "smtp_config"
    assert peer.messages == []


def test_implicit_tls() -> None:
    with SmtpPeer(tls="implicit") as peer:
        channel = SmtpChannel(tls_context=peer.client_tls_context())
        (result,) = run(send_all(channel, settings_for(peer, security="tls"), envelope(1)))
        assert isinstance(result, Sent)
        (result,) = run(send_all(SmtpChannel(), settings_for(peer, security="tls"), envelope(2)))
        assert isinstance(result, RetryLater) and result.code == "smtp_tls"


# -- queue ids ----------------------------------------------------------------------------

SES_ID = "0100018b1234abcd-1234abcd-5678-90ab-cdef-1234567890ab-000000"


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("2.0.0 Ok: queued as 4R1aBc2xyz", "4R1aBc2xyz"),
        ("OK id=1qAbCd-0001Xy-Ab", "1qAbCd-0001Xy-Ab"),
        (
            "2.6.0 <a@b> [InternalId=1236950581258, Hostname=EX1.corp] Queued mail for delivery",
            "1236950581258",
        ),
        ("2.0.0 3AB12cd3456789 Message accepted for delivery", "3AB12cd3456789"),
        (
            "2.0.0 OK  1700000000 d12-20020a05600c4b8c00b0040.12 - gsmtp",
            "d12-20020a05600c4b8c00b0040.12",
        ),
        (f"Ok {SES_ID}", SES_ID),
        ("Ok thanks", None),
        ("OK", None),
    ],
)
def test_queue_id(reply: str, expected: str | None) -> None:
    assert queue_id(reply) == expected
