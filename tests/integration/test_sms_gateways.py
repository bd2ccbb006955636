"""The SMS gateway adapters against local servers that speak each provider's API
(tests/fakes/sms_gateways.py), and their callbacks end to end: provider → our sink →
verification and parsing."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp
import pytest

from kanal.channels.base import DeliveryResult, Failed, RetryLater, Sent
from kanal.channels.sms import (
    GenericAuth,
    GenericGateway,
    GenericGatewayConfig,
    SmsapiGateway,
    SmsGateway,
    SmsMessage,
    TwilioGateway,
)
from kanal.channels.sms.reports import (
    GenericReportMapping,
    callback_url,
    parse_generic_report,
    parse_smsapi_report,
    parse_twilio_report,
    verify_twilio_signature,
    verify_url_token,
)
from tests.fakes.sms_gateways import (
    SMSAPI_TOKEN,
    CallbackSink,
    FakeGenericGateway,
    FakeSmsapi,
    FakeTwilio,
    GenericShape,
)

T = TypeVar("T")
TOKEN = "cb-secret-7f3a"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def sms(key: str = "dlv-1", **changes: Any) -> SmsMessage:
    fields: dict[str, Any] = {
        "to": "+48601234567",
        "sender": "FixIT",
        "text": "Dzień dobry, laptop jest gotowy do odbioru.",
        "idempotency_key": key,
    }
    fields.update(changes)
    return SmsMessage(**fields)


async def send_all(gateway: SmsGateway, *messages: SmsMessage) -> list[DeliveryResult]:
    try:
        return [await gateway.send(message) for message in messages]
    finally:
        await gateway.aclose()


def send_one(gateway: SmsGateway, message: SmsMessage | None = None) -> DeliveryResult:
    (result,) = run(send_all(gateway, message or sms()))
    return result


def smsapi_gateway(fake: FakeSmsapi, **options: Any) -> SmsapiGateway:
    return SmsapiGateway(SMSAPI_TOKEN, base_url=fake.url, **options)


# -- SMSAPI ------------------------------------------------------------------------------


def test_smsapi_sends_the_documented_request(smsapi: FakeSmsapi) -> None:
    message = sms(max_parts=2, callback_url="https://hub.example/hooks/smsapi?k=abc")
    result = send_one(smsapi_gateway(smsapi), message)
    (sent,) = smsapi.sent
    assert result == Sent(sent.id)
    (request,) = smsapi.requests
    assert request.headers["Authorization"] == f"Bearer {SMSAPI_TOKEN}"
    assert request.fields == {
        "to": "48601234567",
        "from": "FixIT",
        "message": "Dzień dobry, laptop jest gotowy do odbioru.",
        "encoding": "utf-8",
        "format": "json",
        "idx": "dlv-1",
        "check_idx": "1",
        "max_parts": "2",
        "notify_url": "https://hub.example/hooks/smsapi?k=abc",
    }


def test_smsapi_lost_answer_then_retry_sends_once(smsapi: FakeSmsapi) -> None:
    smsapi.drop()  # accepted and sent, but the answer never arrives
    first, retry = run(send_all(smsapi_gateway(smsapi), sms("dlv-9"), sms("dlv-9")))
    assert isinstance(first, RetryLater) and first.code == "http_disconnected"
    assert isinstance(retry, Sent) and retry.detail and retry.detail.startswith("smsapi_53")
    assert retry.provider_message_id is None  # error 53 carries no id; the DLR brings it
    assert len(smsapi.requests) == 2 and len(smsapi.sent) == 1


@pytest.mark.parametrize("answer", ["error_with_id", "original"])
def test_smsapi_duplicate_returns_the_original_id_when_the_answer_has_it(answer: Any) -> None:
    with FakeSmsapi(token=SMSAPI_TOKEN, duplicate_answer=answer) as fake:
        first, again = run(send_all(smsapi_gateway(fake), sms("dlv-2"), sms("dlv-2")))
        (sent,) = fake.sent
    assert first == Sent(sent.id)
    assert isinstance(again, Sent) and again.provider_message_id == sent.id


def test_smsapi_another_idx_is_another_sms(smsapi: FakeSmsapi) -> None:
    results = run(send_all(smsapi_gateway(smsapi), sms("a"), sms("b")))
    assert all(isinstance(result, Sent) for result in results)
    assert [s.reference for s in smsapi.sent] == ["a", "b"]


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        (8, RetryLater),
        (52, RetryLater),
        (201, RetryLater),
        (999, RetryLater),
        (11, Failed),
        (13, Failed),
        (57, Failed),
        (101, Failed),
        (103, Failed),
        (105, Failed),
        (4242, Failed),  # unknown: permanent, never a silent retry loop
    ],
)
def test_smsapi_error_codes(smsapi: FakeSmsapi, code: int, kind: type) -> None:
    smsapi.error(code, "boom")
    result = send_one(smsapi_gateway(smsapi))
    assert isinstance(result, kind) and not isinstance(result, Sent)
    assert result.code == f"smsapi_{code}"
    assert not smsapi.sent


def test_smsapi_validation_errors_from_the_provider(smsapi: FakeSmsapi) -> None:
    smsapi.senders = {"FixIT"}
    long_text = "Naprawa zakończona. " * 30
    results = run(
        send_all(
            smsapi_gateway(smsapi),
            sms(to="+48123"),
            sms(sender="Unverified"),
            sms(text=long_text, max_parts=2),
        )
    )
    assert [r.code for r in results if not isinstance(r, Sent)] == [
        "smsapi_13",
        "smsapi_14",
        "smsapi_12",
    ]
    assert isinstance(results[0], Failed) and "48123" in results[0].reason
    assert all(isinstance(result, Failed) for result in results) and not smsapi.sent


@pytest.mark.parametrize("style", ["http_401", "json_200"])
def test_smsapi_bad_token_is_permanent_either_way(style: Any) -> None:
    with FakeSmsapi(token="right", auth_failure=style) as fake:
        result = send_one(SmsapiGateway("wrong", base_url=fake.url))
    assert isinstance(result, Failed) and result.code == "smsapi_101"


def test_smsapi_http_429_and_5xx_are_temporary_with_retry_after(smsapi: FakeSmsapi) -> None:
    smsapi.fail_http(429, retry_after="7")
    smsapi.fail_http(503)
    first, second, third = run(send_all(smsapi_gateway(smsapi), sms("x"), sms("x"), sms("x")))
    assert first == RetryLater("http_429", "fault", retry_after=7.0)
    assert isinstance(second, RetryLater) and second.code == "http_503"
    assert isinstance(third, Sent) and len(smsapi.sent) == 1


def test_smsapi_timeout_and_refused_connection_are_temporary(smsapi: FakeSmsapi) -> None:
    smsapi.delay(1.0)
    slow = send_one(smsapi_gateway(smsapi, timeout=0.2))
    assert isinstance(slow, RetryLater) and slow.code == "http_timeout"
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = send_one(SmsapiGateway(SMSAPI_TOKEN, base_url=f"http://127.0.0.1:{port}"))
    assert isinstance(refused, RetryLater) and refused.code == "http_connect"


def test_smsapi_garbage_answer_is_retried_safely(smsapi: FakeSmsapi) -> None:
    smsapi.fail_http(200, body=None)  # 200 with a non-JSON body: accepted or not?
    first, retry = run(send_all(smsapi_gateway(smsapi), sms(), sms()))
    assert isinstance(first, RetryLater) and first.code == "smsapi_bad_response"
    assert isinstance(retry, Sent)


def test_injected_session_keeps_connections_alive_and_stays_open(smsapi: FakeSmsapi) -> None:
    async def go() -> tuple[list[DeliveryResult], bool]:
        async with aiohttp.ClientSession() as session:
            gateway = SmsapiGateway(SMSAPI_TOKEN, base_url=smsapi.url, session=session)
            results = [await gateway.send(sms(f"k{n}")) for n in range(5)]
            await gateway.aclose()
            return results, session.closed

    results, closed = run(go())
    assert all(isinstance(result, Sent) for result in results) and not closed
    assert len({request.client_port for request in smsapi.requests}) == 1


def test_smsapi_fake_keeps_up_with_concurrent_sends(smsapi: FakeSmsapi) -> None:
    async def go() -> list[DeliveryResult]:
        gateway = smsapi_gateway(smsapi)
        try:
            return await asyncio.gather(*(gateway.send(sms(f"bulk-{n}")) for n in range(300)))
        finally:
            await gateway.aclose()

    results = run(go())
    ids = {result.provider_message_id for result in results if isinstance(result, Sent)}
    assert len(ids) == 300 and len(smsapi.sent) == 300


def test_smsapi_delivery_reports_reach_us_and_parse(smsapi: FakeSmsapi, sink: CallbackSink) -> None:
    hook = callback_url(f"{sink.url}/hooks/smsapi", TOKEN)
    results = run(send_all(smsapi_gateway(smsapi), sms("r1", callback_url=hook), sms("r2")))
    assert all(isinstance(result, Sent) for result in results)
    assert smsapi.push_report(smsapi.sent[:1]) == (200, "OK")
    assert smsapi.push_report(smsapi.sent, 405, "UNDELIVERED", url=hook) == (200, "OK")
    single, batch = sink.wait_for_requests(2)
    assert single.method == "GET" and verify_url_token(single.query, TOKEN)
    assert not verify_url_token(single.query, "another-secret")
    (report,) = parse_smsapi_report(single.query)
    assert (report.provider_message_id, report.status, report.reference) == (
        smsapi.sent[0].id,
        "delivered",
        "r1",
    )
    reports = parse_smsapi_report(batch.query)
    assert [(r.reference, r.status, r.provider_code) for r in reports] == [
        ("r1", "undelivered", "405"),
        ("r2", "undelivered", "405"),
    ]


# -- Twilio ------------------------------------------------------------------------------


def twilio_gateway(fake: FakeTwilio, token: str | None = None, **options: Any) -> TwilioGateway:
    return TwilioGateway(fake.account_sid, token or fake.auth_token, base_url=fake.url, **options)


def test_twilio_sends_the_documented_request(twilio: FakeTwilio) -> None:
    result = send_one(
        twilio_gateway(twilio), sms(sender="+48221234567", callback_url="https://h/t")
    )
    (sent,) = twilio.sent
    assert isinstance(result, Sent) and result.provider_message_id == sent.id
    assert sent.id.startswith("SM") and len(sent.id) == 34
    (request,) = twilio.requests
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.url.endswith(f"/2010-04-01/Accounts/{twilio.account_sid}/Messages.json")
    assert request.fields == {
        "To": "+48601234567",
        "Body": "Dzień dobry, laptop jest gotowy do odbioru.",
        "From": "+48221234567",
        "StatusCallback": "https://h/t",
    }


def test_twilio_messaging_service_sender(twilio: FakeTwilio) -> None:
    service = "MG" + "a" * 32
    assert isinstance(send_one(twilio_gateway(twilio), sms(sender=service)), Sent)
    assert twilio.requests[0].fields["MessagingServiceSid"] == service
    assert "From" not in twilio.requests[0].fields


def test_twilio_errors(twilio: FakeTwilio) -> None:
    twilio.error(21610, 400, "Attempt to send to unsubscribed recipient")
    twilio.error(20429, 429)
    twilio.fail_http(429, retry_after="3", body={"code": 20429, "message": "Too Many Requests"})
    twilio.fail_http(500)
    results = run(
        send_all(twilio_gateway(twilio), sms(), sms(), sms(), sms(), sms(to="48601234567"))
    )
    unsubscribed, busy, limited, broken, invalid = results
    assert unsubscribed == Failed("twilio_21610", "Attempt to send to unsubscribed recipient")
    assert isinstance(busy, RetryLater) and busy.code == "twilio_20429"
    assert limited == RetryLater("twilio_20429", "Too Many Requests", retry_after=3.0)
    assert isinstance(broken, RetryLater) and broken.code == "http_500"
    assert isinstance(invalid, Failed) and invalid.code == "twilio_21211"
    assert not twilio.sent


def test_twilio_bad_credentials(twilio: FakeTwilio) -> None:
    result = send_one(twilio_gateway(twilio, token="wrong"))
    assert isinstance(result, Failed) and result.code == "twilio_20003"


def test_twilio_max_parts_is_checked_before_sending(twilio: FakeTwilio) -> None:
    result = send_one(twilio_gateway(twilio), sms(text="ż" * 200, max_parts=2))
    assert isinstance(result, Failed) and result.code == "too_many_parts"
    assert not twilio.requests


def test_twilio_signed_status_callback(twilio: FakeTwilio, sink: CallbackSink) -> None:
    hook = callback_url(f"{sink.url}/hooks/twilio", TOKEN, reference="dlv-5")
    assert isinstance(send_one(twilio_gateway(twilio), sms(callback_url=hook)), Sent)
    (sent,) = twilio.sent
    twilio.push_report(sent, "undelivered", 30003)
    twilio.push_report(sent, "delivered", signing_token="not-our-token")
    genuine, forged = sink.wait_for_requests(2)
    token = twilio.auth_token
    signature = genuine.headers["X-Twilio-Signature"]
    assert verify_twilio_signature(token, genuine.url, signature, genuine.form)
    assert not verify_twilio_signature("other", genuine.url, signature, genuine.form)
    tampered = [(k, "delivered" if k == "MessageStatus" else v) for k, v in genuine.form]
    assert not verify_twilio_signature(token, genuine.url, signature, tampered)
    forged_signature = forged.headers["X-Twilio-Signature"]
    assert not verify_twilio_signature(token, forged.url, forged_signature, forged.form)
    report = parse_twilio_report(genuine.form)
    assert (report.provider_message_id, report.status, report.provider_code) == (
        sent.id,
        "undelivered",
        "30003",
    )
    assert dict(genuine.query)["ref"] == "dlv-5"


def test_twilio_json_callback_with_body_sha256(twilio: FakeTwilio, sink: CallbackSink) -> None:
    payload = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}
    twilio.push_json(f"{sink.url}/hooks/twilio-json", payload)
    (request,) = sink.wait_for_requests(1)
    signature = request.headers["X-Twilio-Signature"]
    assert "bodySHA256=" in request.url
    assert verify_twilio_signature(twilio.auth_token, request.url, signature, body=request.body)
    altered = request.body.replace(b"delivered", b"failed")
    assert not verify_twilio_signature(twilio.auth_token, request.url, signature, body=altered)
    assert not verify_twilio_signature(twilio.auth_token, request.url, signature)


# -- the generic gateway -----------------------------------------------------------------


def test_generic_default_shape(generic: FakeGenericGateway) -> None:
    config = GenericGatewayConfig(
        url=f"{generic.url}/v1/messages",
        auth=GenericAuth("bearer", token="generic-token"),
        callback_field="callback_url",
    )
    result = send_one(GenericGateway(config), sms(callback_url="https://h/g?k=1"))
    assert result == Sent("gw-1")
    assert generic.requests[0].json == {
        "to": "+48601234567",
        "text": "Dzień dobry, laptop jest gotowy do odbioru.",
        "from": "FixIT",
        "reference": "dlv-1",
        "callback_url": "https://h/g?k=1",
    }


@pytest.mark.parametrize(
    ("auth", "header", "value"),
    [
        (GenericAuth("basic", username="jan", password="pw"), "Authorization", "Basic amFuOnB3"),
        (GenericAuth("header", header="X-Api-Key", token="k-1"), "X-Api-Key", "k-1"),
    ],
)
def test_generic_nested_mapping_and_auth(auth: GenericAuth, header: str, value: str) -> None:
    shape = GenericShape(
        path="/api/send",
        auth_header=header,
        auth_value=value,
        to_field="message.recipient",
        sender_field="message.originator",
        text_field="message.body",
        reference_field="client_ref",
        callback_field=None,
        id_field="message_id",
        wrap_answer="data",
        extra_required={"channel": "sms"},
    )
    with FakeGenericGateway(shape) as fake:
        config = GenericGatewayConfig(
            url=f"{fake.url}/api/send",
            auth=auth,
            to_field="message.recipient",
            sender_field="message.originator",
            text_field="message.body",
            reference_field="client_ref",
            phone_format="digits",
            extra_fields={"channel": "sms"},
            message_id_path="data.message_id",
        )
        result = send_one(GenericGateway(config))
        (sent,) = fake.sent
    assert result == Sent(sent.id)
    assert sent.to == "48601234567" and sent.reference == "dlv-1"


def generic_gateway(fake: FakeGenericGateway, **changes: Any) -> GenericGateway:
    fields: dict[str, Any] = {
        "url": f"{fake.url}/v1/messages",
        "auth": GenericAuth("bearer", token="generic-token"),
        "temporary_errors": frozenset({"busy"}),
        "duplicate_errors": frozenset({"duplicate"}),
    }
    fields.update(changes)
    return GenericGateway(GenericGatewayConfig(**fields))


def test_generic_errors(generic: FakeGenericGateway) -> None:
    generic.error("invalid_number")
    generic.error("busy")  # HTTP 400, but configured as temporary
    generic.error("throttled", status=429)
    generic.error("no_credit", status=200)  # an error inside a 200
    generic.fail_http(502)
    results = run(send_all(generic_gateway(generic), *(sms() for _ in range(5))))
    assert [(type(r).__name__, getattr(r, "code", None)) for r in results] == [
        ("Failed", "generic_invalid_number"),
        ("RetryLater", "generic_busy"),
        ("RetryLater", "generic_throttled"),
        ("Failed", "generic_no_credit"),
        ("RetryLater", "http_502"),
    ]
    assert not generic.sent


def test_generic_bad_credentials(generic: FakeGenericGateway) -> None:
    result = send_one(generic_gateway(generic, auth=GenericAuth("bearer", token="nope")))
    assert isinstance(result, Failed) and result.code == "generic_unauthorized"


def test_generic_unique_reference_makes_retries_safe() -> None:
    with FakeGenericGateway(GenericShape(unique_reference=True)) as fake:
        fake.drop()
        first, retry = run(send_all(generic_gateway(fake, idempotent=True), sms(), sms()))
        (sent,) = fake.sent
    assert isinstance(first, RetryLater) and first.code == "http_disconnected"
    assert isinstance(retry, Sent) and retry.provider_message_id == sent.id


def test_generic_delivery_report(generic: FakeGenericGateway, sink: CallbackSink) -> None:
    hook = callback_url(f"{sink.url}/hooks/generic", TOKEN)
    gateway = generic_gateway(generic, callback_field="callback_url")
    assert gateway.capabilities.delivery_reports
    assert isinstance(send_one(gateway, sms(callback_url=hook)), Sent)
    generic.push_report(generic.sent[0], "DELIVRD", "000")
    (request,) = sink.wait_for_requests(1)
    assert verify_url_token(request.query, TOKEN)
    mapping = GenericReportMapping(statuses={"DELIVRD": "delivered"})
    report = parse_generic_report(request.json, mapping)
    assert (report.provider_message_id, report.status, report.reference) == (
        "gw-1",
        "delivered",
        "dlv-1",
    )
    assert report.at is not None and report.final
