"""Delivery reports: the fake providers call kanal's real HTTP server (uvicorn) back, as
SMSAPI (GET), Twilio (signed POST form, or JSON with bodySHA256) and a generic gateway
(JSON through a configured mapping) do, and the deliveries follow."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kanal.bootstrap import Container
from kanal.channels.base import Sent
from kanal.channels.sms import (
    GenericAuth,
    GenericGateway,
    GenericGatewayConfig,
    SmsapiGateway,
    TwilioGateway,
)
from kanal.channels.sms.reports import twilio_json_callback_url, twilio_signature
from kanal.store.messaging import WebhookEvent
from tests.conftest import Api
from tests.fakes.sms_gateways import FakeGenericGateway, FakeSmsapi, FakeTwilio, SentSms
from tests.integration.sms_support import (
    TWILIO_SID,
    KanalServer,
    compose,
    delivery_row,
    fund,
    record,
    reports_of,
    running,
    send,
    sms_client,
    take,
)
from tests.integration.test_worker_local import drain, make_worker


@pytest.fixture(scope="module")
def kanal(container: Container) -> Iterator[KanalServer]:
    with running(container) as server:
        yield server


@pytest.fixture(scope="module")
def smsapi() -> Iterator[FakeSmsapi]:
    with FakeSmsapi(token="t0ken") as fake:
        yield fake


@pytest.fixture
def funded(api: Api, container: Container) -> Api:
    fund(container, api.tenant.id)
    return api


def history(api: Api, message_id: str) -> list[tuple[str, str | None]]:
    delivery = api.get(f"/v1/messages/{message_id}").json()["deliveries"][0]
    return [(e["status"], e["code"]) for e in delivery["history"]]


def smsapi_sent(kanal: KanalServer, smsapi: FakeSmsapi, api: Api, container: Container,
                record_it: bool = True) -> tuple[dict[str, Any], str]:  # fmt: skip
    """An SMS composed, taken, sent through the SMSAPI adapter (and recorded)."""
    delivery = compose(api, sms_client(api))
    claimed = take(container, delivery["id"])
    gateway = SmsapiGateway("t0ken", base_url=smsapi.url, name="smsapi")
    pid = send(gateway, delivery, kanal.report_url("smsapi", delivery["id"]))
    if record_it:
        assert record(container, claimed, Sent(pid), "smsapi") == "sent"
    delivery["claimed"] = claimed
    return delivery, pid


def sent_sms(smsapi: FakeSmsapi, pid: str) -> SentSms:
    return next(s for s in smsapi.sent if s.id == pid)


def test_the_worker_sends_and_smsapi_reports_delivered(
    kanal: KanalServer, smsapi: FakeSmsapi, funded: Api, container: Container
) -> None:
    """End to end: compose, the real worker sends to the SMSAPI fake with our notify_url,
    SMSAPI GETs the report back, the delivery is delivered (its final_at set), the
    host application gets a webhook, and the answer is the "OK" SMSAPI expects."""
    funded.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"})
    worker = make_worker(
        container,
        sms_gateways={"smsapi": {"kind": "smsapi", "token": "t0ken", "base_url": smsapi.url}},
        sms_primary="smsapi",
        public_url=kanal.url,
    )
    delivery = compose(funded, sms_client(funded))
    drain(worker)
    row = delivery_row(container, delivery["id"])
    assert (row.status, row.gateway) == ("sent", "smsapi")
    sms = sent_sms(smsapi, row.provider_message_id or "")
    assert sms.callback_url and sms.callback_url.startswith(f"{kanal.url}/callbacks/sms/smsapi?k=")
    assert sms.reference == delivery["id"]  # idx

    assert smsapi.push_report([sms], 404, "DELIVERED") == (200, "OK")

    row = delivery_row(container, delivery["id"])
    assert row.status == "delivered" and row.error_code is None
    assert (
        row.final_at is not None
        and abs(row.final_at.timestamp() - datetime.now(UTC).timestamp()) < 5
    )
    message_id = str(row.message_id)
    assert history(funded, message_id)[-2:] == [("sent", None), ("delivered", "404")]
    (report,) = reports_of(container, sms.id)
    assert (report.status, report.provider_code, report.applied_at is not None) == (
        "delivered",
        "404",
        True,
    )
    assert webhook_statuses(container, funded) == ["sent", "delivered"]


def webhook_statuses(container: Container, api: Api) -> list[str]:
    with container.uows.for_tenant(api.tenant.id) as uow:
        events = uow.session.scalars(select(WebhookEvent).order_by(WebhookEvent.created_at))
        return [str(e.payload["status"]) for e in events]


def test_a_report_before_the_send_is_recorded_waits_and_is_applied(
    kanal: KanalServer, smsapi: FakeSmsapi, funded: Api, container: Container
) -> None:
    delivery, pid = smsapi_sent(kanal, smsapi, funded, container, record_it=False)
    assert smsapi.push_report([sent_sms(smsapi, pid)], 404, "DELIVERED") == (200, "OK")
    assert delivery_row(container, delivery["id"]).status == "sending"  # not recorded yet
    (report,) = reports_of(container, pid)
    assert report.applied_at is None and str(report.delivery_id) == delivery["id"]

    assert record(container, delivery["claimed"], Sent(pid), "smsapi") == "sent"

    row = delivery_row(container, delivery["id"])
    assert row.status == "delivered"
    assert reports_of(container, pid)[0].applied_at is not None
    statuses = [s for s, _ in history(funded, str(row.message_id))]
    assert statuses == ["queued", "sending", "sent", "delivered"]  # in order, none lost


def test_a_repeated_report_is_a_no_op_even_when_the_copies_race(
    kanal: KanalServer, smsapi: FakeSmsapi, funded: Api, container: Container
) -> None:
    delivery, pid = smsapi_sent(kanal, smsapi, funded, container)
    sms = sent_sms(smsapi, pid)
    answers: list[tuple[int, str]] = []
    threads = [
        threading.Thread(
            target=lambda: answers.append(smsapi.push_report([sms], 405, "UNDELIVERED"))
        )
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [(200, "OK")] * 6
    assert smsapi.push_report([sms], 405, "UNDELIVERED") == (200, "OK")
    assert len(reports_of(container, pid)) == 1
    row = delivery_row(container, delivery["id"])
    assert (row.status, row.error_code, row.error_message) == ("undelivered", "405", "UNDELIVERED")
    assert history(funded, str(row.message_id)).count(("undelivered", "405")) == 1


@pytest.mark.parametrize(
    ("first", "late", "final"),
    [((404, "DELIVERED"), (405, "UNDELIVERED"), "delivered"),
     ((402, "EXPIRED"), (404, "DELIVERED"), "expired")],
)  # fmt: skip
def test_a_final_state_is_never_overwritten_by_a_later_report(
    kanal: KanalServer, smsapi: FakeSmsapi, funded: Api, container: Container,
    first: tuple[int, str], late: tuple[int, str], final: str,
) -> None:  # fmt: skip
    delivery, pid = smsapi_sent(kanal, smsapi, funded, container)
    sms = sent_sms(smsapi, pid)
    smsapi.push_report([sms], *first)
    final_at = delivery_row(container, delivery["id"]).final_at
    assert smsapi.push_report([sms], *late) == (200, "OK")
    row = delivery_row(container, delivery["id"])
    assert (row.status, row.final_at) == (final, final_at)
    assert len(reports_of(container, pid)) == 2  # both kept: the late one is history
    last = funded.get(f"/v1/messages/{row.message_id}").json()["deliveries"][0]["history"][-1]
    assert last["status"] == final and "ignored" in last["reason"]


def test_smsapi_batched_report_to_the_account_url(
    kanal: KanalServer, smsapi: FakeSmsapi, funded: Api, container: Container
) -> None:
    """An account-wide notify URL has no ref: each report's idx names its delivery."""
    one, pid_one = smsapi_sent(kanal, smsapi, funded, container)
    two, pid_two = smsapi_sent(kanal, smsapi, funded, container)
    account_url = kanal.report_url("smsapi", None)
    sms = [sent_sms(smsapi, pid_one), sent_sms(smsapi, pid_two)]
    assert smsapi.push_report(sms, 404, "DELIVERED", url=account_url) == (200, "OK")
    assert [delivery_row(container, d["id"]).status for d in (one, two)] == ["delivered"] * 2


def test_callbacks_without_the_token_are_refused(
    kanal: KanalServer, smsapi: FakeSmsapi, funded: Api, container: Container
) -> None:
    delivery, pid = smsapi_sent(kanal, smsapi, funded, container)
    sms = sent_sms(smsapi, pid)
    query = smsapi.report_query([sms], 404, "DELIVERED")
    for url in (
        f"{kanal.url}/callbacks/sms/smsapi?k=wrong&ref={delivery['id']}&{query}",
        f"{kanal.url}/callbacks/sms/smsapi?ref={delivery['id']}&{query}",
        f"{kanal.url}/callbacks/sms/nosuch?k={kanal.token('nosuch')}&{query}",
        f"{kanal.url}/callbacks/sms/dev?k={kanal.token('dev')}&{query}",
        f"{kanal.url}/callbacks/sms/t{uuid.uuid4().hex}?k=x&{query}",
    ):
        response = httpx.get(url)
        assert response.status_code == 403, url
        assert response.json()["error"]["code"] == "callback_forbidden"
    assert delivery_row(container, delivery["id"]).status == "sent"
    assert reports_of(container, pid) == []


def test_malformed_and_unknown_reports(kanal: KanalServer, smsapi: FakeSmsapi) -> None:
    base = f"{kanal.url}/callbacks/sms"
    bad = httpx.get(f"{base}/smsapi?k={kanal.token('smsapi')}&status=404")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "callback_malformed"
    generic = httpx.post(
        f"{base}/generic?k={kanal.token('generic')}", content=b"{not json",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert generic.status_code == 400
    huge = httpx.post(
        f"{base}/generic?k={kanal.token('generic')}", content=b"[" + b" " * 300_000 + b"]"
    )
    assert huge.status_code == 400 and huge.json()["error"]["code"] == "callback_malformed"
    # Genuine but about nothing we sent: OK (the provider stops retrying), nothing kept.
    unknown = httpx.get(
        f"{base}/smsapi?k={kanal.token('smsapi')}&MsgId=999&status=404&idx={uuid.uuid4()}"
    )
    assert (unknown.status_code, unknown.text) == (200, "OK")
    assert reports_of(kanal.container, "999") == []


# -- Twilio ------------------------------------------------------------------------------


def twilio_sent(
    kanal: KanalServer, twilio: FakeTwilio, api: Api, container: Container
) -> tuple[dict[str, Any], SentSms]:
    delivery = compose(api, sms_client(api))
    claimed = take(container, delivery["id"])
    gateway = TwilioGateway(TWILIO_SID, "twilio-token", base_url=twilio.url, name="twilio")
    pid = send(gateway, delivery, kanal.report_url("twilio", delivery["id"]))
    assert record(container, claimed, Sent(pid), "twilio") == "sent"
    return delivery, next(s for s in twilio.sent if s.id == pid)


def test_twilio_signed_status_callbacks(
    kanal: KanalServer, funded: Api, container: Container
) -> None:
    with FakeTwilio(account_sid=TWILIO_SID, auth_token="twilio-token") as twilio:
        delivery, sms = twilio_sent(kanal, twilio, funded, container)
        forged = twilio.push_report(sms, "delivered", signing_token="not-the-token")
        assert (
            forged[0] == 403
            and json.loads(forged[1])["error"]["code"] == "callback_signature_invalid"
        )
        assert delivery_row(container, delivery["id"]).status == "sent"

        assert twilio.push_report(sms, "sent")[0] == 200  # not final: history only
        assert twilio.push_report(sms, "undelivered", error_code=30003)[0] == 200
    row = delivery_row(container, delivery["id"])
    assert (row.status, row.error_code) == ("undelivered", "30003")
    assert history(funded, str(row.message_id))[-2:] == [("sent", None), ("undelivered", "30003")]


def test_twilio_json_callback_signed_with_body_sha256(
    kanal: KanalServer, funded: Api, container: Container
) -> None:
    with FakeTwilio(account_sid=TWILIO_SID, auth_token="twilio-token") as twilio:
        delivery, sms = twilio_sent(kanal, twilio, funded, container)
        payload = {"MessageSid": sms.id, "MessageStatus": "delivered", "AccountSid": TWILIO_SID}
        # The signature covers the URL with the body's hash: another body does not match.
        body = json.dumps(payload).encode()
        signed = twilio_json_callback_url(sms.callback_url or "", body)
        tampered = httpx.post(
            signed, content=body.replace(b"delivered", b"failed"),
            headers={"X-Twilio-Signature": twilio_signature("twilio-token", signed),
                     "Content-Type": "application/json"},
        )  # fmt: skip
        assert tampered.status_code == 403
        assert twilio.push_json(sms.callback_url or "", payload)[0] == 200
    assert delivery_row(container, delivery["id"]).status == "delivered"


# -- generic gateways ---------------------------------------------------------------------


def test_generic_gateway_report_through_the_configured_status_words(
    kanal: KanalServer, funded: Api, container: Container
) -> None:
    with FakeGenericGateway() as fake:
        config = GenericGatewayConfig(
            url=f"{fake.url}/v1/messages", auth=GenericAuth("bearer", token="generic-token"),
            callback_field="callback_url",
        )  # fmt: skip
        delivery = compose(funded, sms_client(funded))
        claimed = take(container, delivery["id"])
        pid = send(
            GenericGateway(config, name="generic"),
            delivery,
            kanal.report_url("generic", delivery["id"]),
        )
        record(container, claimed, Sent(pid), "generic")
        (sms,) = fake.sent
        assert fake.push_report(sms, "UNDELIV", code="EC12") == (200, "OK")
    row = delivery_row(container, delivery["id"])
    assert (row.status, row.error_code) == ("undelivered", "EC12")


def test_a_tenants_own_gateway_with_a_nested_mapping(
    kanal: KanalServer, funded: Api, other_api: Api, container: Container
) -> None:
    """A tenant account (``t<hex>`` key): its config is sealed in its row, its token its own,
    and it can touch only its own tenant's deliveries."""
    mapping = {
        "message_id_path": "data.msg_id", "status_path": "data.state", "code_path": "data.err",
        "at_path": "data.done", "reference_path": None, "statuses": {"OK": "delivered"},
    }  # fmt: skip
    config = {"url": "http://127.0.0.1:9/send", "report": mapping}
    headers = funded.headers
    account = httpx.post(
        f"{kanal.url}/v1/sms/gateways", headers=headers,
        json={"name": "local", "kind": "generic", "config": config},
    ).json()  # fmt: skip
    key = f"t{uuid.UUID(account['id']).hex}"
    callback = account["callback_url"]
    delivery = compose(funded, sms_client(funded))
    claimed = take(container, delivery["id"])
    record(container, claimed, Sent("loc-77"), key)

    report = {"data": {"msg_id": "loc-77", "state": "OK", "done": "2030-01-02T03:04:05Z"}}
    wrong = httpx.post(callback.replace("k=", "k=x"), json=report)
    assert wrong.status_code == 403
    # Another tenant's account cannot report on this tenant's delivery, even by its id.
    other = httpx.post(
        f"{kanal.url}/v1/sms/gateways", headers=other_api.headers,
        json={"name": "local", "kind": "generic", "config": config},
    ).json()  # fmt: skip
    assert httpx.post(f"{other['callback_url']}&ref={delivery['id']}", json=report).text == "OK"
    assert delivery_row(container, delivery["id"]).status == "sent"

    assert httpx.post(callback, json=report).text == "OK"
    row = delivery_row(container, delivery["id"])
    assert row.status == "delivered" and key == row.gateway
    assert row.final_at == datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
