"""The worker sending real mail to a real SMTP server (aiosmtpd), with faults injected."""

import asyncio
import base64
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kanal.bootstrap import Container
from tests.conftest import Api
from tests.integration.test_worker_local import drain, make_worker
from tests.smtp_peer import SmtpPeer


@pytest.fixture
def peer() -> Iterator[SmtpPeer]:
    with SmtpPeer() as server:
        yield server


def relay_worker(container: Container, peer: SmtpPeer, **settings: Any) -> Any:
    return make_worker(
        container,
        smtp_host=peer.host,
        smtp_port=peer.port,
        smtp_security="none",
        smtp_auth="NONE",
        retry_base_seconds=0.0,
        **settings,
    )


def _client(api: Api) -> dict[str, Any]:
    body = {"name": "Zofia Wróbel", "emails": [{"address": "zofia@example.com"}]}
    return api.post("/v1/clients", json=body).json()  # type: ignore[no-any-return]


def _send(api: Api, client: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {
        "recipient": {"client_id": client["id"]},
        "channels": ["email"],
        "text": "Gotowe.",
        **fields,
    }
    response = api.post("/v1/messages", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _delivery(api: Api, message: dict[str, Any]) -> dict[str, Any]:
    return api.get(f"/v1/messages/{message['id']}").json()["deliveries"][0]  # type: ignore[no-any-return]


def test_mail_arrives_with_branch_identity_threading_and_attachments(
    api: Api, container: Container, peer: SmtpPeer
) -> None:
    drain(relay_worker(container, peer))  # earlier tests' queued deliveries first
    peer.reset()
    branch = api.post(
        "/v1/branches",
        json={"trade_name": "FixIT Brno", "email": "brno@fixit.example", "external_id": "brno"},
    ).json()
    client = _client(api)
    order = api.post(
        "/v1/contexts",
        json={"kind": "order", "external_id": "5", "number": "N/5/2026", "branch_id": branch["id"]},
    ).json()
    pdf = b"%PDF-1.4 protokol"
    first = _send(
        api,
        client,
        context_id=order["id"],
        subject="Zakázka N/5/2026 je hotová",
        html="<p>Dobrý den, <b>hotovo</b>.</p><script>alert(1)</script>",
        automatic=True,
        attachments=[
            {"filename": "Protokol_č.5.pdf", "content_base64": base64.b64encode(pdf).decode()}
        ],
    )
    second = _send(api, client, context_id=order["id"], text="A ještě jedna věc.")
    drain(relay_worker(container, peer))
    received = {m.message_id: m for m in peer.wait_for_messages(2)}  # sent concurrently
    one, two = received[first["email_message_id"]], received[second["email_message_id"]]
    mail = one.parsed
    mailbox = api.get("/v1/tenant/mailbox").json()
    assert mail["From"].addresses[0].display_name == "FixIT Brno"
    assert mail["From"].addresses[0].addr_spec == mailbox["address"]
    local, domain = mailbox["address"].split("@")
    reply_to = [a.addr_spec for a in mail["Reply-To"].addresses]
    assert reply_to[0] == "brno@fixit.example"  # the branch that accepted the order
    assert reply_to[1].startswith(f"{local}+") and reply_to[1].endswith(f"@{domain}")
    assert mail["To"].addresses[0].addr_spec == "zofia@example.com"
    assert mail["To"].addresses[0].display_name == "Zofia Wróbel"
    assert mail["Subject"] == "Zakázka N/5/2026 je hotová"
    assert mail["Message-ID"] == first["email_message_id"]
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Kanal-Delivery"] == first["deliveries"][0]["id"]
    html = mail.get_body(("html",)).get_content()
    assert "<b>hotovo</b>" in html and "<script>" not in html
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "Protokol_č.5.pdf"
    assert attachment.get_content() == pdf
    follow_up = two.parsed
    assert follow_up["In-Reply-To"] == first["email_message_id"]
    assert first["email_message_id"] in follow_up["References"]
    assert follow_up["Message-ID"] == second["email_message_id"]
    assert "Auto-Submitted" not in follow_up
    assert _delivery(api, first)["status"] == "sent"
    assert [e["status"] for e in _delivery(api, first)["history"]] == ["queued", "sending", "sent"]


def test_a_temporary_refusal_is_retried_and_then_sent(
    api: Api, container: Container, peer: SmtpPeer
) -> None:
    drain(relay_worker(container, peer))
    peer.fail("RCPT", "451 4.7.1 Try again later", times=1)
    message = _send(api, _client(api))
    drain(relay_worker(container, peer), rounds=1)
    retry = _delivery(api, message)
    assert retry["status"] == "queued"
    assert "451" in (retry["error_code"] or "") + (retry["error_message"] or "")
    drain(relay_worker(container, peer))
    done = _delivery(api, message)
    assert (done["status"], done["attempts"]) == ("sent", 2)
    assert [e["status"] for e in done["history"]] == [
        "queued",
        "sending",
        "queued",
        "sending",
        "sent",
    ]


def test_a_permanent_refusal_fails_at_once(api: Api, container: Container, peer: SmtpPeer) -> None:
    drain(relay_worker(container, peer))
    peer.fail("RCPT", "550 5.1.1 No such user", times=None)
    message = _send(api, _client(api))
    drain(relay_worker(container, peer))
    failed = _delivery(api, message)
    assert (failed["status"], failed["attempts"]) == ("failed", 1)
    assert "550" in failed["error_code"]


def test_retries_end_after_the_limit(api: Api, container: Container, peer: SmtpPeer) -> None:
    drain(relay_worker(container, peer))
    peer.fail("MAIL", "421 4.3.2 Service shutting down", times=None)
    message = _send(api, _client(api))
    drain(relay_worker(container, peer, max_attempts=3))
    failed = _delivery(api, message)
    assert (failed["status"], failed["attempts"]) == ("failed", 3)
    assert failed["error_code"].startswith("retries_exhausted:")


def test_a_lost_250_is_sent_again_with_the_same_message_id(
    api: Api, container: Container, peer: SmtpPeer
) -> None:
    drain(relay_worker(container, peer))
    peer.drop("DATA", times=1)  # the server took the message but the reply never came
    message = _send(api, _client(api))
    drain(relay_worker(container, peer))
    copies = [m for m in peer.messages if m.message_id == message["email_message_id"]]
    assert len(copies) == 2  # a receiver can de-duplicate by Message-ID
    assert _delivery(api, message)["status"] == "sent"


def test_a_tenants_own_smtp_server_is_used_with_its_settings(
    api: Api, container: Container
) -> None:
    with SmtpPeer(users={"serwis": "tajne"}) as own:
        response = api.put(
            "/v1/tenant/smtp",
            json={
                "host": own.host,
                "port": own.port,
                "security": "none",
                "username": "serwis",
                "password": "tajne",
                "auth": "LOGIN",
                "helo_name": "fixit.example",
                "return_path": "bounces@fixit.example",
                "bcc": "archiwum@fixit.example",
            },
        )
        assert response.status_code == 200, response.text
        assert response.json()["has_password"] is True and "password" not in response.json()
        message = _send(api, _client(api))
        # the service relay points nowhere: only the tenant's own server can take it
        drain(make_worker(container, smtp_host="127.0.0.1", smtp_port=9, smtp_security="none"))
        (received,) = own.wait_for_messages(1)
        assert received.mail_from == "bounces@fixit.example"
        assert received.rcpt_tos == ["zofia@example.com", "archiwum@fixit.example"]
        assert own.helo_names[-1] == "fixit.example"
        assert _delivery(api, message)["status"] == "sent"


def test_a_slow_relay_does_not_make_a_lease_run_out_into_duplicates(
    api: Api, container: Container, peer: SmtpPeer
) -> None:
    """Sends slower than the lease: the heartbeat keeps the batch this worker holds."""
    drain(relay_worker(container, peer))
    peer.reset()
    peer.delay("DATA", 0.5, times=None)
    client = _client(api)
    messages = [_send(api, client) for _ in range(4)]
    worker = relay_worker(container, peer, lease_seconds=0.8, worker_batch=2, worker_concurrency=1)
    thread = threading.Thread(target=lambda: asyncio.run(worker.run()), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(
            _delivery(api, m)["status"] != "sent" for m in messages
        ):
            time.sleep(0.1)
    finally:
        assert worker._loop is not None
        worker._loop.call_soon_threadsafe(worker.stopping.set)
        thread.join(30)
    ids = [m.message_id for m in peer.messages]
    assert sorted(ids) == sorted(m["email_message_id"] for m in messages)  # each exactly once


def test_wrong_credentials_keep_the_message_for_a_later_try(api: Api, container: Container) -> None:
    with SmtpPeer(users={"serwis": "tajne"}) as own:
        api.put(
            "/v1/tenant/smtp",
            json={
                "host": own.host,
                "port": own.port,
                "security": "none",
                "username": "serwis",
                "password": "zle-haslo",
                "auth": "PLAIN",
            },
        )
        message = _send(api, _client(api))
        drain(make_worker(container, retry_cap_seconds=600), rounds=1)
        delivery = _delivery(api, message)
        assert delivery["status"] == "queued"  # not failed: fixing the password sends it
        assert delivery["error_code"].startswith("smtp_auth")
        assert own.messages == []
