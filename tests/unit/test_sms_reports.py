"""Delivery-report parsing and callback verification (kanal.channels.sms.reports), and the
pure answer mapping of the adapters. No servers: every input is what a provider sends."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from email.utils import formatdate

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from kanal.channels.base import Failed, RetryLater, Sent, retry_after
from kanal.channels.sms import smsapi, twilio
from kanal.channels.sms.base import HttpAnswer
from kanal.channels.sms.reports import (
    GenericReportMapping,
    ReportError,
    callback_url,
    parse_generic_report,
    parse_smsapi_report,
    parse_twilio_report,
    query_params,
    twilio_json_callback_url,
    twilio_signature,
    verify_twilio_signature,
    verify_url_token,
)

# Twilio's published request-validation example (auth token "12345").
TOKEN = "12345"
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+12349013030"),
    ("Digits", "1234"),
    ("From", "+12349013030"),
    ("To", "+18005551212"),
]
FORM_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
JSON_BODY = b'{"property": "value", "boolean": true}'
JSON_URL = URL + "&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
JSON_SIGNATURE = "a9nBmqA0ju/hNViExpshrM61xv4="


# -- Twilio signatures --------------------------------------------------------------------


def test_twilio_signature_matches_the_published_example() -> None:
    assert twilio_signature(TOKEN, URL, PARAMS) == FORM_SIGNATURE
    assert twilio_signature(TOKEN, URL, dict(PARAMS)) == FORM_SIGNATURE
    assert verify_twilio_signature(TOKEN, URL, FORM_SIGNATURE, list(reversed(PARAMS)))


def test_twilio_signature_rejects_changes() -> None:
    assert not verify_twilio_signature(TOKEN, URL, FORM_SIGNATURE, [*PARAMS[:-1], ("To", "+1")])
    assert not verify_twilio_signature(TOKEN, URL, FORM_SIGNATURE, [*PARAMS, ("Extra", "1")])
    assert not verify_twilio_signature(TOKEN, URL.replace("bar=2", "bar=3"), FORM_SIGNATURE, PARAMS)
    assert not verify_twilio_signature("54321", URL, FORM_SIGNATURE, PARAMS)
    assert not verify_twilio_signature(TOKEN, URL, None, PARAMS)
    assert not verify_twilio_signature(TOKEN, URL, "", PARAMS)


def test_twilio_signature_with_or_without_the_default_port() -> None:
    with_port = URL.replace("mycompany.com", "mycompany.com:443")
    assert verify_twilio_signature(TOKEN, with_port, FORM_SIGNATURE, PARAMS)
    signed_with_port = twilio_signature(TOKEN, with_port, PARAMS)
    assert verify_twilio_signature(TOKEN, URL, signed_with_port, PARAMS)
    other_port = URL.replace("mycompany.com", "mycompany.com:8443")
    assert not verify_twilio_signature(TOKEN, other_port, FORM_SIGNATURE, PARAMS)


def test_twilio_repeated_parameters_sort_their_values() -> None:
    one = twilio_signature(TOKEN, URL, [("MediaUrl", "b"), ("MediaUrl", "a")])
    assert one == twilio_signature(TOKEN, URL, [("MediaUrl", "a"), ("MediaUrl", "b")])
    assert verify_twilio_signature(TOKEN, URL, one, [("MediaUrl", "b"), ("MediaUrl", "a")])


def test_twilio_body_sha256_variant_matches_the_published_example() -> None:
    assert twilio_json_callback_url(URL, JSON_BODY) == JSON_URL
    assert twilio_signature(TOKEN, JSON_URL) == JSON_SIGNATURE
    assert verify_twilio_signature(TOKEN, JSON_URL, JSON_SIGNATURE, body=JSON_BODY)
    upper = JSON_URL.replace("0a1ff7634d9ab3b95db5c9a2", "0A1FF7634D9AB3B95DB5C9A2")
    assert twilio_signature(TOKEN, upper) != JSON_SIGNATURE  # the URL as sent is signed


def test_twilio_body_sha256_rejects_another_body_or_none() -> None:
    assert not verify_twilio_signature(TOKEN, JSON_URL, JSON_SIGNATURE, body=JSON_BODY + b" ")
    assert not verify_twilio_signature(TOKEN, JSON_URL, JSON_SIGNATURE)
    # Parameters do not count in the JSON variant: only the URL and the body hash.
    assert verify_twilio_signature(TOKEN, JSON_URL, JSON_SIGNATURE, PARAMS, body=JSON_BODY)


# -- tokens in callback URLs --------------------------------------------------------------


def test_callback_url_token() -> None:
    url = callback_url("https://hub.example/hooks/smsapi?tenant=7", "s3cr3t", reference="d-1")
    assert url == "https://hub.example/hooks/smsapi?tenant=7&k=s3cr3t&ref=d-1"
    params = query_params(url)
    assert verify_url_token(params, "s3cr3t")
    assert not verify_url_token(params, "s3cr3t-other")
    assert not verify_url_token({"k": ""}, "")  # an unset secret never matches
    assert not verify_url_token({}, "s3cr3t")


# -- SMSAPI reports -----------------------------------------------------------------------


def test_smsapi_single_report() -> None:
    query = query_params(
        "/hooks/smsapi/dlr?MsgId=613F1B14346335B944450980&status=404&status_name=DELIVERED"
        "&idx=hub-msg-123&donedate=1712570400&to=48500100200&from=MyShop&username=myuser"
        "&points=0.16&mcc=260&mnc=2"
    )
    (report,) = parse_smsapi_report(query)
    assert report.provider_message_id == "613F1B14346335B944450980"
    assert report.status == "delivered" and report.final
    assert report.provider_code == "404" and report.provider_status == "DELIVERED"
    assert report.reference == "hub-msg-123"
    assert report.at == datetime(2024, 4, 8, 10, 0, tzinfo=UTC)


def test_smsapi_batched_report() -> None:
    reports = parse_smsapi_report(
        {
            "MsgId": "a,b,c",
            "status": "402,405,403",
            "status_name": "EXPIRED,UNDELIVERED,SENT",
            "idx": "d1,,d3",
            "donedate": "1712570400,1712570401.5,",
        }
    )
    assert [(r.provider_message_id, r.status, r.reference, r.final) for r in reports] == [
        ("a", "expired", "d1", True),
        ("b", "undelivered", None, True),
        ("c", "sent", "d3", False),
    ]
    assert reports[2].at is None


@pytest.mark.parametrize(
    ("number", "status"),
    [
        ("401", "unknown"),
        ("406", "failed"),
        ("407", "rejected"),
        ("409", "queued"),
        ("499", "unknown"),
    ],
)
def test_smsapi_status_numbers(number: str, status: str) -> None:
    (report,) = parse_smsapi_report({"MsgId": "x", "status": number})
    assert report.status == status


@pytest.mark.parametrize(
    "params",
    [{}, {"MsgId": "a"}, {"MsgId": "a,b", "status": "404"}, {"MsgId": "a", "status": "OK"}],
)
def test_smsapi_malformed_reports(params: dict[str, str]) -> None:
    with pytest.raises(ReportError):
        parse_smsapi_report(params)


# -- Twilio reports -----------------------------------------------------------------------


def test_twilio_report() -> None:
    body = query_params(
        "?MessageSid=SM1&SmsSid=SM1&AccountSid=AC1&From=%2B15005550006&To=%2B48500100200"
        "&MessageStatus=undelivered&SmsStatus=undelivered&ErrorCode=30003&ApiVersion=2010-04-01"
    )
    arrived = datetime(2026, 1, 1, tzinfo=UTC)
    report = parse_twilio_report(body, at=arrived)
    assert (report.provider_message_id, report.status, report.provider_code, report.at) == (
        "SM1",
        "undelivered",
        "30003",
        arrived,
    )
    assert parse_twilio_report({"SmsSid": "SM2", "SmsStatus": "sent"}).status == "sent"
    assert parse_twilio_report({"MessageSid": "SM3", "MessageStatus": "weird"}).status == "unknown"
    with pytest.raises(ReportError):
        parse_twilio_report({"MessageStatus": "sent"})


# -- generic reports ----------------------------------------------------------------------


def test_generic_report_nested_mapping() -> None:
    mapping = GenericReportMapping(
        message_id_path="data.msg.id",
        status_path="data.state",
        statuses={"DELIVRD": "delivered", "UNDELIV": "undelivered"},
        code_path="data.err",
        at_path="data.done",
        reference_path="data.client_ref",
    )
    document = {
        "data": {
            "msg": {"id": 77},
            "state": "UNDELIV",
            "err": 12,
            "done": "2026-03-01T10:00:00Z",
            "client_ref": "dlv-4",
        }
    }
    report = parse_generic_report(document, mapping)
    assert (report.provider_message_id, report.status, report.provider_code) == (
        "77",
        "undelivered",
        "12",
    )
    assert report.at == datetime(2026, 3, 1, 10, tzinfo=UTC) and report.reference == "dlv-4"


def test_generic_report_defaults_and_errors() -> None:
    plain = GenericReportMapping()
    report = parse_generic_report({"id": "m", "status": "Delivered", "timestamp": 0}, plain)
    assert report.status == "delivered" and report.at == datetime(1970, 1, 1, tzinfo=UTC)
    assert parse_generic_report({"id": "m", "status": "???"}, plain).status == "unknown"
    bad_documents: list[object] = [{"status": "delivered"}, {"id": "m"}, [], "x"]
    for bad in bad_documents:
        with pytest.raises(ReportError):
            parse_generic_report(bad, plain)


# -- the adapters' answer mapping ---------------------------------------------------------


def answer(status: int, body: bytes, **headers: str) -> HttpAnswer:
    return HttpAnswer(status, CIMultiDictProxy(CIMultiDict(headers)), body)


def test_smsapi_answers() -> None:
    ok = b'{"count":1,"list":[{"id":"7074294081650020450","points":0.165,"status":"QUEUE"}]}'
    assert smsapi.interpret(answer(200, ok)) == Sent("7074294081650020450")
    invalid = (
        b'{"error":13,"message":"No correct phone numbers","invalid_numbers":'
        b'[{"number":"48100200300","message":"Invalid phone number","error_code":13}]}'
    )
    assert smsapi.interpret(answer(200, invalid)) == Failed(
        "smsapi_13", "No correct phone numbers: 48100200300"
    )
    assert smsapi.interpret(answer(200, b"OK:1:0.1")) == RetryLater(
        "smsapi_bad_response", "OK:1:0.1"
    )
    assert smsapi.interpret(answer(401, b"Unauthorized")) == Failed("http_401", "Unauthorized")
    assert isinstance(smsapi.interpret(answer(200, b'{"count":0,"list":[]}')), RetryLater)


def test_twilio_answers() -> None:
    created = b'{"sid":"SMabc","status":"queued"}'
    assert twilio.interpret(answer(201, created)) == Sent("SMabc", detail="queued")
    assert twilio.interpret(answer(201, b"{}")).provider_message_id is None  # type: ignore[union-attr]
    landline = b'{"code":21635,"message":"landline","status":400}'
    assert twilio.interpret(answer(400, landline)) == Failed("twilio_21635", "landline")
    outage = b'{"code":20500,"message":"Internal Server Error","status":500}'
    assert twilio.interpret(answer(500, outage, **{"Retry-After": "2"})) == RetryLater(
        "twilio_20500", "Internal Server Error", retry_after=2.0
    )


def test_retry_after_header() -> None:
    assert retry_after("120") == 120.0
    assert retry_after(None) is None and retry_after("soon") is None
    later = retry_after(formatdate(time.time() + 60, usegmt=True))
    assert later is not None and 55 <= later <= 61
    assert retry_after(formatdate(time.time() - 60, usegmt=True)) == 0.0
