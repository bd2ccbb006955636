"""Compose over HTTP: eligibility, threads, the outbox rows, idempotency."""

import base64
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import Api


def _client(api: Api, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Anna Nowak",
        "phones": [{"number": "601 234 567"}],
        "emails": [{"address": "anna@example.com"}],
        "portal_active": True,
        **fields,
    }
    response = api.post("/v1/clients", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _send(api: Api, **fields: Any) -> Any:
    return api.post("/v1/messages", json={"text": "Dzień dobry, laptop gotowy.", **fields})


def _threads(api: Api, **params: Any) -> list[dict[str, Any]]:
    return api.get("/v1/threads", params=params).json()["items"]  # type: ignore[no-any-return]


def test_one_message_on_two_channels_is_one_message_with_two_deliveries(api: Api) -> None:
    client = _client(api)
    response = _send(
        api, recipient={"client_id": client["id"]}, channels=["email", "portal"], subject="Naprawa"
    )
    assert response.status_code == 201, response.text
    message = response.json()
    assert [(d["channel"], d["recipient"], d["status"]) for d in message["deliveries"]] == [
        ("email", "anna@example.com", "queued"),
        ("portal", "portal", "queued"),
    ]
    assert [e["status"] for e in message["deliveries"][0]["history"]] == ["queued"]
    assert message["email_message_id"].startswith("<") and message["email_message_id"].endswith(">")
    assert api.get(f"/v1/messages/{message['id']}").json() == message


def test_every_failing_channel_is_listed_and_nothing_is_queued(api: Api) -> None:
    client = _client(api, emails=[], portal_active=False, email_allowed=True)
    response = _send(
        api, recipient={"client_id": client["id"]}, channels=["email", "portal", "viber"]
    )
    assert response.status_code == 422
    fields = {f["field"]: f["code"] for f in response.json()["error"]["fields"]}
    assert fields == {
        "channels.email": "no_email_address",
        "channels.portal": "portal_not_active",
        "channels.viber": "channel_unavailable",
    }
    assert _threads(api, client_id=client["id"]) == []


def test_skip_unavailable_sends_what_works_and_reports_the_rest(api: Api) -> None:
    client = _client(api, portal_active=False)
    response = _send(
        api,
        recipient={"client_id": client["id"]},
        channels=["email", "portal"],
        skip_unavailable=True,
    )
    assert response.status_code == 201
    message = response.json()
    assert [d["channel"] for d in message["deliveries"]] == ["email"]
    assert [(s["channel"], s["code"]) for s in message["skipped"]] == [
        ("portal", "portal_not_active")
    ]
    assert message["skipped"][0]["message"] == "Klient nie aktywował panelu klienta."


def test_marketing_needs_consent(api: Api) -> None:
    client = _client(api)
    response = _send(api, recipient={"client_id": client["id"]}, channels=["email"], marketing=True)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["code"] == "marketing_consent_missing"
    consenting = _client(api, name="Ewa", marketing_consent=True)
    ok = _send(api, recipient={"client_id": consenting["id"]}, channels=["email"], marketing=True)
    assert ok.status_code == 201


def test_messages_about_one_order_share_one_thread(api: Api) -> None:
    client = _client(api)
    order = api.put(
        "/v1/contexts/by-external-id/order/77",
        json={
            "kind": "order",
            "external_id": "77",
            "number": "N/77/2026",
            "client_id": client["id"],
        },
    ).json()
    first = _send(
        api,
        recipient={"client_id": client["id"]},
        channels=["email"],
        context_id=order["id"],
        automatic=True,
    ).json()
    second = _send(
        api,
        recipient={"client_id": client["id"]},
        channels=["email"],
        context={"kind": "order", "external_id": "77"},
        text="Czy odbiór jutro?",
    ).json()
    other = _send(api, recipient={"client_id": client["id"]}, channels=["email"]).json()
    assert first["thread_id"] == second["thread_id"] != other["thread_id"]
    assert first["subject"] == "N/77/2026"  # the order's number names the thread
    tab = api.get(f"/v1/contexts/{order['id']}/threads").json()["items"]
    assert [t["id"] for t in tab] == [first["thread_id"]]
    assert [m["text"] for m in tab[0]["messages"]] == [
        "Dzień dobry, laptop gotowy.",
        "Czy odbiór jutro?",
    ]
    thread = api.get(f"/v1/threads/{first['thread_id']}").json()
    assert thread["context_id"] == order["id"] and thread["client_id"] == client["id"]


def test_unknown_context_is_422(api: Api) -> None:
    client = _client(api)
    response = _send(
        api,
        recipient={"client_id": client["id"]},
        channels=["email"],
        context={"kind": "order", "external_id": "nope"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["code"] == "context_unknown"


def test_overrides_send_to_another_address_this_time(api: Api) -> None:
    client = _client(api)
    message = _send(
        api,
        recipient={"client_id": client["id"]},
        channels=["email"],
        overrides={"email": "Biuro@Firma.example"},
    ).json()
    assert message["deliveries"][0]["recipient"] == "biuro@firma.example"
    bad = _send(
        api, recipient={"client_id": client["id"]}, channels=["email"], overrides={"email": "x@"}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"][0]["field"] == "overrides.email"


def test_ad_hoc_and_employee_recipients(api: Api) -> None:
    adhoc = _send(
        api, recipient={"email": "kontrahent@example.com", "name": "Hurtownia"}, channels=["email"]
    )
    assert adhoc.status_code == 201
    employee = api.post("/v1/employees", json={"name": "Ewa", "email": "ewa@fixit.example"}).json()
    staff = _send(api, recipient={"employee_id": employee["id"]}, channels=["email"])
    assert staff.json()["deliveries"][0]["recipient"] == "ewa@fixit.example"
    portal = _send(api, recipient={"employee_id": employee["id"]}, channels=["portal"])
    assert portal.json()["error"]["fields"][0]["code"] == "portal_not_active"
    both = _send(
        api, recipient={"email": "a@b.example", "employee_id": employee["id"]}, channels=["email"]
    )
    assert both.status_code == 422


def test_portal_message_is_announced_by_email(api: Api) -> None:
    client = _client(api)
    message = _send(api, recipient={"client_id": client["id"]}, channels=["portal"]).json()
    assert [(d["channel"], d["purpose"]) for d in message["deliveries"]] == [
        ("portal", "message"),
        ("email", "portal_notice"),
    ]
    with_email = _send(
        api, recipient={"client_id": client["id"]}, channels=["portal", "email"]
    ).json()
    assert [d["purpose"] for d in with_email["deliveries"]] == ["message", "message"]


def test_attachments_are_stored_and_checked(api: Api) -> None:
    client = _client(api)
    pdf = b"%PDF-1.4 faktura"
    ok = _send(
        api,
        recipient={"client_id": client["id"]},
        channels=["email"],
        attachments=[
            {"filename": "Faktura_łódź.pdf", "content_base64": base64.b64encode(pdf).decode()}
        ],
    )
    assert ok.json()["attachments"] == [
        {"filename": "Faktura_łódź.pdf", "content_type": "application/pdf", "size": len(pdf)}
    ]
    bad = _send(
        api,
        recipient={"client_id": client["id"]},
        channels=["email"],
        attachments=[{"filename": "x.pdf", "content_base64": "!!!"}],
    )
    assert bad.json()["error"]["fields"][0]["code"] == "attachment_invalid"


def test_idempotency_key(api: Api) -> None:
    client = _client(api)
    body = {"recipient": {"client_id": client["id"]}, "channels": ["email"], "text": "Raz"}
    headers = {"Idempotency-Key": "order-77-ready"}
    first = api.post("/v1/messages", json=body, headers=headers)
    again = api.post("/v1/messages", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    changed = api.post("/v1/messages", json={**body, "text": "Dwa"}, headers=headers)
    assert changed.status_code == 422
    assert changed.json()["error"]["fields"][0]["code"] == "idempotency_key_reused"
    thread = api.get(f"/v1/threads/{first.json()['thread_id']}").json()
    assert len(thread["messages"]) == 1


def test_concurrent_requests_with_one_idempotency_key_make_one_message(api: Api) -> None:
    client = _client(api)
    body = {"recipient": {"client_id": client["id"]}, "channels": ["email"], "text": "Raz"}

    def post(_: int) -> str:
        response = api.post("/v1/messages", json=body, headers={"Idempotency-Key": "k-1"})
        assert response.status_code in (200, 201), response.text
        return str(response.json()["id"])

    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = set(pool.map(post, range(12)))
    assert len(ids) == 1


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, {"email": True, "portal": True, "sms": False, "telegram": False}),
        ({"email_allowed": False, "portal_active": False}, {"email": False, "portal": False}),
    ],
)
def test_client_channels_answer_before_composing(
    api: Api, fields: dict[str, Any], expected: dict[str, bool]
) -> None:
    client = _client(api, **fields)
    channels = {c["channel"]: c for c in api.get(f"/v1/clients/{client['id']}/channels").json()}
    assert {name: channels[name]["available"] for name in expected} == expected
    assert channels["telegram"]["code"] == "channel_unavailable"
    assert channels["telegram"]["message"] == "Kanał telegram nie jest dostępny."


def test_concurrent_first_messages_about_one_order_share_one_thread(api: Api) -> None:
    client = _client(api)
    order = api.post("/v1/contexts", json={"kind": "order", "external_id": "race"}).json()
    body = {
        "recipient": {"client_id": client["id"]},
        "channels": ["email"],
        "text": "Gotowe",
        "context_id": order["id"],
    }

    def post(_: int) -> str:
        response = api.post("/v1/messages", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["thread_id"])

    with ThreadPoolExecutor(max_workers=6) as pool:
        threads = set(pool.map(post, range(12)))
    assert len(threads) == 1
