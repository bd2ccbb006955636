"""SMS through the worker to local servers speaking SMSAPI, Twilio and a generic JSON API,
and to the dev capture (/dev/outbox). SMS are queued by the API (compose prices them and
reserves the money); the worker sends them and settles the wallet."""

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from kanal.bootstrap import Container
from kanal.store.messaging import CapturedMail
from tests.conftest import Api
from tests.fakes.sms_gateways import SMSAPI_TOKEN, FakeGenericGateway, FakeSmsapi, FakeTwilio
from tests.sms_work import (
    PUBLIC_URL,
    balance,
    delivery,
    drain,
    ledger,
    make_worker,
    send_sms,
    service_token,
    sms_client,
    tenant_gateway,
    top_up,
)


@pytest.fixture(autouse=True)
def _earlier_work_done(container: Container) -> None:
    """Earlier tests' queued deliveries go (to the dev capture) before these send theirs."""
    drain(make_worker(container))


def _smsapi_config(fake: FakeSmsapi, token: str = SMSAPI_TOKEN) -> dict[str, object]:
    return {"kind": "smsapi", "token": token, "base_url": fake.url}


def _charged_once(container: Container, delivery_id: str) -> None:
    cost = delivery(container, delivery_id).cost_minor
    assert cost
    assert ledger(container, delivery_id) == [("charge", -cost), ("release", cost),
                                              ("reservation", -cost)]  # fmt: skip


def test_smsapi_gets_idx_sender_max_parts_and_the_report_url(
    api: Api, container: Container, smsapi: FakeSmsapi
) -> None:
    top_up(container, api.tenant.id)
    before = balance(container, api.tenant.id)
    text = "Dzień dobry, laptop jest gotowy do odbioru. Zapraszamy!"
    delivery_id = send_sms(api, sms_client(api), text)
    queued = delivery(container, delivery_id)
    assert queued.status == "queued" and queued.cost_minor
    worker = make_worker(
        container, sms_gateways={"smsapi": _smsapi_config(smsapi)}, sms_primary="smsapi"
    )
    drain(worker)
    [request] = smsapi.requests
    fields = request.fields
    assert fields["idx"] == delivery_id and fields["check_idx"] == "1"
    assert fields["from"] == queued.sender == "KANAL"
    assert fields["to"] == "48601234567" and fields["message"] == queued.body
    assert fields["max_parts"] == str(queued.segments) and fields["encoding"] == "utf-8"
    notify = urlsplit(fields["notify_url"])
    assert f"{notify.scheme}://{notify.netloc}{notify.path}" == f"{PUBLIC_URL}/callbacks/sms/smsapi"
    assert parse_qs(notify.query) == {
        "k": [service_token(container, "smsapi")],
        "ref": [delivery_id],
    }
    sent = delivery(container, delivery_id)
    assert (sent.status, sent.gateway) == ("sent", "smsapi")
    assert sent.provider_message_id == smsapi.sent[0].id
    _charged_once(container, delivery_id)
    assert balance(container, api.tenant.id) == before - queued.cost_minor


def test_twilio_gets_the_message_and_its_status_callback(
    api: Api, container: Container, twilio: FakeTwilio
) -> None:
    top_up(container, api.tenant.id)
    delivery_id = send_sms(api, sms_client(api, "+48 602 345 678"))
    config = {
        "kind": "twilio",
        "account_sid": twilio.account_sid,
        "auth_token": twilio.auth_token,
        "base_url": twilio.url,
    }
    drain(make_worker(container, sms_gateways={"tw": config}, sms_primary="tw"))
    [sms] = twilio.sent
    queued = delivery(container, delivery_id)
    assert (sms.to, sms.sender, sms.text) == ("+48602345678", "KANAL", queued.body)
    assert sms.callback_url == (
        f"{PUBLIC_URL}/callbacks/sms/tw?k={service_token(container, 'tw')}&ref={delivery_id}"
    )
    assert (queued.status, queued.gateway, queued.provider_message_id) == ("sent", "tw", sms.id)
    _charged_once(container, delivery_id)
    balance(container, api.tenant.id)


def test_a_tenants_own_generic_gateway_with_its_callback_token(
    api: Api, container: Container, generic: FakeGenericGateway, smsapi: FakeSmsapi
) -> None:
    """The tenant's own account wins over the service's gateway; its URL carries its token."""
    top_up(container, api.tenant.id)
    config = {
        "url": f"{generic.url}/v1/messages",
        "auth": {"kind": "bearer", "token": "generic-token"},
        "callback_field": "callback_url",
    }
    key, token = tenant_gateway(container, api.tenant.id, "local", "generic", config)
    delivery_id = send_sms(api, sms_client(api))
    service = {"smsapi": _smsapi_config(smsapi)}
    drain(make_worker(container, sms_gateways=service, sms_primary="smsapi"))
    [sms] = generic.sent
    assert sms.reference == delivery_id and sms.sender == "KANAL"
    assert sms.callback_url == f"{PUBLIC_URL}/callbacks/sms/{key}?k={token}&ref={delivery_id}"
    assert smsapi.requests == []  # not the service's gateway
    sent = delivery(container, delivery_id)
    assert (sent.status, sent.gateway, sent.provider_message_id) == ("sent", key, sms.id)
    _charged_once(container, delivery_id)


def test_a_tenant_gateway_that_cannot_be_built_retries_slowly(
    api: Api, container: Container
) -> None:
    """Wrong settings fail every SMS alike: kept and retried slowly, the money stays held."""
    top_up(container, api.tenant.id)
    tenant_gateway(container, api.tenant.id, "broken", "smsapi", {"tokn": "typo"})
    delivery_id = send_sms(api, sms_client(api))
    drain(make_worker(container))
    row = delivery(container, delivery_id)
    assert (row.status, row.error_code) == ("queued", "sms_config")
    assert "'token' is required" in (row.error_message or "")
    assert row.next_attempt_at is not None and row.updated_at is not None
    assert (row.next_attempt_at - row.updated_at).total_seconds() > 600
    cost = row.cost_minor
    assert cost and ledger(container, delivery_id) == [("reservation", -cost)]
    balance(container, api.tenant.id)


def test_smsapi_bad_token_is_an_account_problem_not_a_failed_sms(
    api: Api, container: Container, smsapi: FakeSmsapi
) -> None:
    top_up(container, api.tenant.id)
    delivery_id = send_sms(api, sms_client(api))
    config = _smsapi_config(smsapi, token="wrong")
    drain(make_worker(container, sms_gateways={"smsapi": config}, sms_primary="smsapi"))
    row = delivery(container, delivery_id)
    assert (row.status, row.error_code, row.gateway) == ("queued", "smsapi_101", "smsapi")
    assert smsapi.sent == []


def test_dev_capture_shows_the_sms_in_the_dev_outbox(api: Api, container: Container) -> None:
    top_up(container, api.tenant.id)
    text = "Zażółć gęślą jaźń: telefon gotowy."
    delivery_id = send_sms(api, sms_client(api), text)
    drain(make_worker(container))  # the default: sms_primary = "dev"
    row = delivery(container, delivery_id)
    assert (row.status, row.gateway) == ("delivered", "dev")
    _charged_once(container, delivery_id)
    with container.uows.system() as uow:
        captured = uow.session.scalars(
            select(CapturedMail).where(CapturedMail.delivery_id == uuid.UUID(delivery_id))
        ).one()
        captured_id = captured.id
        assert (captured.channel, captured.sender, captured.recipients) == (
            "sms", "KANAL", "+48601234567",
        )  # fmt: skip
    listing = api.client.get("/dev/outbox").text
    assert f'href="/dev/outbox/{captured_id}">{row.body}</a>' in listing
    assert f"{row.segments} segment" in listing and "UCS-2" in listing
    page = api.client.get(f"/dev/outbox/{captured_id}")
    assert page.status_code == 200
    assert "SMS to +48601234567" in page.text and row.body and row.body in page.text
    raw = api.client.get(f"/dev/outbox/{captured_id}/raw")
    assert raw.headers["content-type"].startswith("text/plain") and raw.text == row.body


def test_without_the_dev_outbox_the_dev_gateway_is_an_account_problem(
    api: Api, container: Container
) -> None:
    top_up(container, api.tenant.id)
    delivery_id = send_sms(api, sms_client(api))
    drain(make_worker(container, dev_outbox=False))
    row = delivery(container, delivery_id)
    assert (row.status, row.error_code) == ("queued", "sms_config")
