"""Composing SMS: the exact text, size, price and sender are fixed and paid for at queue time."""

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from kanal.bootstrap import Container
from kanal.services import wallet
from kanal.store.messaging import Delivery, Message, Thread
from kanal.store.sms import ClientSender, SenderName, SenderNumber, Wallet, WalletEntry
from tests.conftest import Api

POLISH = "Zażółć gęślą jaźń: laptop gotowy do odbioru."


def _client(api: Api, phone: str = "601 234 567", **fields: Any) -> dict[str, Any]:
    body = {"name": "Anna Nowak", "phones": [{"number": phone}], **fields}
    response = api.post("/v1/clients", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _sms(api: Api, client_id: str, text: str = POLISH, **fields: Any) -> Any:
    return api.post(
        "/v1/messages",
        json={"recipient": {"client_id": client_id}, "channels": ["sms"], "text": text, **fields},
    )


def _top_up(container: Container, api: Api, amount: int) -> None:
    wallet.top_up(
        container.uows,
        api.tenant.id,
        wallet.TopUpIn(amount_minor=amount, reference=f"pay-{uuid.uuid4()}"),
    )


def _balance_and_ledger(container: Container, api: Api) -> tuple[int, int]:
    with container.uows.system() as uow:
        balance = uow.session.scalars(
            select(Wallet.balance_minor).where(Wallet.tenant_id == api.tenant.id)
        ).one()
        return balance, wallet.ledger_sum(uow.session, [api.tenant.id]).get(api.tenant.id, 0)


def _add_numbers(container: Container, api: Api, *numbers: str) -> None:
    with container.uows.for_tenant(api.tenant.id) as uow:
        for e164 in numbers:
            uow.session.add(SenderNumber(tenant_id=api.tenant.id, e164=e164))
        uow.commit()


def test_without_money_an_sms_is_refused_and_nothing_is_queued(
    api: Api, container: Container
) -> None:
    client = _client(api)
    response = _sms(api, client["id"])
    assert response.status_code == 422
    (field,) = response.json()["error"]["fields"]
    assert (field["field"], field["code"]) == ("channels.sms", "insufficient_balance")
    assert field["params"] == {"channel": "sms", "balance": "0", "cost": "16"}  # one UCS-2 part
    with container.uows.for_tenant(api.tenant.id) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Message)) == 0
        assert uow.session.scalar(select(func.count()).select_from(WalletEntry)) == 0


def test_a_queued_sms_carries_its_text_size_price_and_holds_the_money(
    api: Api, container: Container
) -> None:
    client = _client(api)
    _top_up(container, api, 1000)
    response = _sms(api, client["id"])
    assert response.status_code == 201, response.text
    (delivery,) = response.json()["deliveries"]
    assert delivery["recipient"] == "+48601234567"
    assert (delivery["encoding"], delivery["segments"], delivery["cost_minor"]) == ("UCS-2", 1, 16)
    assert delivery["sender"] == "KANAL"  # no pool, no name: the service's brand
    assert response.json()["thread_replyable"] is False
    assert _balance_and_ledger(container, api) == (984, 984)
    with container.uows.for_tenant(api.tenant.id) as uow:
        row = uow.session.get_one(Delivery, uuid.UUID(delivery["id"]))
        assert row.body == POLISH
        entries = uow.session.execute(select(WalletEntry.kind, WalletEntry.amount_minor)).all()
    assert sorted(entries) == [("reservation", -16), ("topup", 1000)]
    statement = api.get("/v1/wallet")
    assert statement.status_code == 200
    assert statement.json()["reserved_minor"] == 16


@pytest.mark.parametrize(
    ("settings", "expected_body", "encoding", "segments"),
    [
        ({}, POLISH, "UCS-2", 1),
        ({"transliterate": True}, "Zazolc gesla jazn: laptop gotowy do odbioru.", "GSM-7", 1),
    ],
)
def test_tenant_settings_decide_the_text_that_goes_out(
    api: Api, container: Container, settings: dict[str, Any], expected_body: str, encoding: str,
    segments: int,
) -> None:  # fmt: skip
    assert api.put("/v1/sms/settings", json=settings).status_code == 200
    _top_up(container, api, 1000)
    response = _sms(api, _client(api)["id"])
    assert response.status_code == 201, response.text
    (delivery,) = response.json()["deliveries"]
    assert (delivery["encoding"], delivery["segments"]) == (encoding, segments)
    with container.uows.for_tenant(api.tenant.id) as uow:
        assert uow.session.get_one(Delivery, uuid.UUID(delivery["id"])).body == expected_body


def test_longer_than_the_tenant_allows_is_refused(api: Api, container: Container) -> None:
    assert api.put("/v1/sms/settings", json={"max_segments": 2}).status_code == 200
    _top_up(container, api, 10_000)
    response = _sms(api, _client(api)["id"], text="ą" * 200)  # 3 UCS-2 parts
    assert response.status_code == 422
    (field,) = response.json()["error"]["fields"]
    assert field["code"] == "sms_too_long"
    assert field["message"] == "SMS miałby 3 części, a ustawienia konta pozwalają na 2."


def test_the_price_depends_on_the_destination_country(api: Api, container: Container) -> None:
    _top_up(container, api, 1000)
    czech = _client(api, phone="+420 601 123 456")
    (delivery,) = _sms(api, czech["id"], text="Hotovo").json()["deliveries"]
    assert delivery["cost_minor"] == 40  # PLN "*" row: every country without its own price


def test_skip_unavailable_sends_the_email_when_the_sms_cannot_be_paid(api: Api) -> None:
    client = _client(api, emails=[{"address": "anna@example.com"}])
    response = api.post(
        "/v1/messages",
        json={
            "recipient": {"client_id": client["id"]},
            "channels": ["sms", "email"],
            "text": "Gotowe",
            "skip_unavailable": True,
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert [d["channel"] for d in body["deliveries"]] == ["email"]
    assert [(s["channel"], s["code"]) for s in body["skipped"]] == [("sms", "insufficient_balance")]


def test_each_client_keeps_one_number_of_the_pool(api: Api, container: Container) -> None:
    _add_numbers(container, api, "+48500000001", "+48500000002")
    _top_up(container, api, 10_000)
    anna, jan = _client(api), _client(api, phone="602 345 678", name="Jan Kowalski")
    first = _sms(api, anna["id"], text="Raz").json()
    assert first["thread_replyable"] is True
    senders_anna = {first["deliveries"][0]["sender"]}
    senders_jan = set()
    for text in ("Dwa", "Trzy"):
        senders_anna.add(_sms(api, anna["id"], text=text).json()["deliveries"][0]["sender"])
        senders_jan.add(_sms(api, jan["id"], text=text).json()["deliveries"][0]["sender"])
    assert len(senders_anna) == len(senders_jan) == 1
    # the least-used number goes to the next client: both numbers are in use
    assert senders_anna | senders_jan == {"+48500000001", "+48500000002"}


def test_an_approved_sender_name_is_used_and_replies_become_impossible(
    api: Api, container: Container
) -> None:
    with container.uows.for_tenant(api.tenant.id) as uow:
        approved = SenderName(tenant_id=api.tenant.id, name="SERWIS", status="approved")
        pending = SenderName(tenant_id=api.tenant.id, name="NAPRAWY", status="submitted")
        uow.session.add_all([approved, pending])
        uow.commit()
        approved_id, pending_id = str(approved.id), str(pending.id)
    refused = api.put("/v1/sms/settings", json={"sender_name_id": pending_id})
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["code"] == "sms_sender_name_not_approved"
    chosen = api.put("/v1/sms/settings", json={"sender_name_id": approved_id}).json()
    assert chosen["replies_possible"] is False
    assert chosen["notice"] == (
        "SMS z nazwą nadawcy SERWIS: odbiorcy nie będą mogli na nie odpowiedzieć."
    )
    _add_numbers(container, api, "+48500000009")  # a name wins over the pool
    _top_up(container, api, 1000)
    message = _sms(api, _client(api)["id"]).json()
    assert message["deliveries"][0]["sender"] == "SERWIS"
    assert message["thread_replyable"] is False
    with container.uows.for_tenant(api.tenant.id) as uow:
        thread = uow.session.get_one(Thread, uuid.UUID(message["thread_id"]))
        assert thread.replyable is False


def test_concurrent_sends_never_spend_more_than_the_balance(api: Api, container: Container) -> None:
    client = _client(api)
    _top_up(container, api, 16 * 5)  # five one-part SMS
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(lambda i: _sms(api, client["id"], text=f"SMS {i}").status_code,
                              range(12)))  # fmt: skip
    assert sorted(codes) == [201] * 5 + [422] * 7
    assert _balance_and_ledger(container, api) == (0, 0)


def test_concurrent_first_sms_to_a_client_assign_one_number(api: Api, container: Container) -> None:
    _add_numbers(container, api, "+48500000001", "+48500000002", "+48500000003")
    _top_up(container, api, 10_000)
    client = _client(api)
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda i: _sms(api, client["id"], text=f"SMS {i}"), range(8)))
    assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
    assert len({a.json()["deliveries"][0]["sender"] for a in answers}) == 1
    with container.uows.for_tenant(api.tenant.id) as uow:
        assert uow.session.scalar(select(func.count()).select_from(ClientSender)) == 1


def test_the_client_card_says_sms_needs_money_first(api: Api, container: Container) -> None:
    client = _client(api)

    def sms_status() -> dict[str, Any]:
        channels = api.get(f"/v1/clients/{client['id']}/channels").json()
        return next(c for c in channels if c["channel"] == "sms")  # type: ignore[no-any-return]

    assert (sms_status()["available"], sms_status()["code"]) == (False, "insufficient_balance")
    _top_up(container, api, 100)
    assert sms_status()["available"] is True
    assert api.put("/v1/sms/settings", json={"enabled": False}).status_code == 200
    assert sms_status()["code"] == "sms_disabled"


def test_own_gateways_are_checked_and_named_in_settings(api: Api) -> None:
    missing = api.post("/v1/sms/gateways", json={"name": "mine", "kind": "smsapi", "config": {}})
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["params"]["fields"] == "token"
    created = api.post(
        "/v1/sms/gateways", json={"name": "mine", "kind": "smsapi", "config": {"token": "t0k"}}
    )
    assert created.status_code == 201, created.text
    assert "/callbacks/sms/t" in created.json()["callback_url"]
    assert "t0k" not in created.text  # secrets are never shown back
    again = api.post(
        "/v1/sms/gateways", json={"name": "mine", "kind": "smsapi", "config": {"token": "x"}}
    )
    assert again.json()["error"]["fields"][0]["code"] == "sms_gateway_name_taken"
    unknown = api.put("/v1/sms/settings", json={"primary_gateway": "nope"})
    assert unknown.json()["error"]["fields"][0]["code"] == "sms_gateway_unknown"
    assert api.put("/v1/sms/settings", json={"primary_gateway": "mine"}).status_code == 200
    assert api.delete(f"/v1/sms/gateways/{created.json()['id']}").status_code == 204
    assert api.get("/v1/sms/settings").json()["primary_gateway"] is None
