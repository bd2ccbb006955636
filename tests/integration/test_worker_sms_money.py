"""Failover between two gateways, and the wallet settled on the results: charged once on
send (whatever the retries), released on a final failure; the ledger sums to the balance."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from kanal.bootstrap import Container
from kanal.core.failover import GatewayHealth
from kanal.services import outbox
from kanal.store.messaging import Delivery
from kanal.store.orm import utcnow
from tests.conftest import Api
from tests.fakes.sms_gateways import SMSAPI_TOKEN, FakeSmsapi, FakeTwilio
from tests.sms_work import (
    balance,
    delivery,
    drain,
    ledger,
    make_due,
    make_worker,
    send_sms,
    sms_client,
    top_up,
)


@pytest.fixture(autouse=True)
def _earlier_work_done(container: Container) -> None:
    drain(make_worker(container))


def _gateways(smsapi: FakeSmsapi, twilio: FakeTwilio | None = None) -> dict[str, object]:
    gateways: dict[str, object] = {
        "smsapi": {"kind": "smsapi", "token": SMSAPI_TOKEN, "base_url": smsapi.url}
    }
    if twilio is not None:
        gateways["twilio"] = {
            "kind": "twilio",
            "account_sid": twilio.account_sid,
            "auth_token": twilio.auth_token,
            "base_url": twilio.url,
        }
    return gateways


def _charged(container: Container, delivery_id: str) -> list[tuple[str, int]]:
    cost = delivery(container, delivery_id).cost_minor
    assert cost
    return [("charge", -cost), ("release", cost), ("reservation", -cost)]


def _released(container: Container, delivery_id: str) -> list[tuple[str, int]]:
    cost = delivery(container, delivery_id).cost_minor
    assert cost
    return [("release", cost), ("reservation", -cost)]


def test_failing_primary_moves_traffic_to_the_secondary_and_back(
    api: Api, container: Container, smsapi: FakeSmsapi, twilio: FakeTwilio
) -> None:
    top_up(container, api.tenant.id)
    client = sms_client(api)
    worker = make_worker(
        container,
        sms_gateways=_gateways(smsapi, twilio),
        sms_primary="smsapi",
        sms_secondary="twilio",
        sms_failover_errors=3,
        sms_failover_window_seconds=60,
        sms_failover_cooldown_seconds=1.0,
        retry_base_seconds=0.0,
        worker_concurrency=1,  # one send at a time: the order below is exact
    )
    smsapi.fail_http(500, times=None)
    first = [send_sms(api, client, f"Zlecenie {n} gotowe.") for n in range(5)]
    drain(worker, rounds=1)
    # Three 500s take SMSAPI out of rotation; the other two go to Twilio at once.
    assert len(smsapi.requests) == 3 and len(twilio.sent) == 2
    make_due(container, first)
    drain(worker)  # the three retries go to Twilio too: SMSAPI is cooling down
    assert len(smsapi.requests) == 3 and len(twilio.sent) == 5
    assert {delivery(container, i).gateway for i in first} == {"twilio"}
    assert {delivery(container, i).status for i in first} == {"sent"}

    smsapi.reset()  # healthy again
    time.sleep(1.1)  # the cool-down is over: the next SMS is SMSAPI's trial
    later = [send_sms(api, client, f"Odbiór {n}.") for n in range(3)]
    drain(worker)
    assert len(smsapi.sent) == 3 and len(twilio.sent) == 5  # back for good
    assert {delivery(container, i).gateway for i in later} == {"smsapi"}
    for delivery_id in first + later:
        assert ledger(container, delivery_id) == _charged(container, delivery_id)
    balance(container, api.tenant.id)


def test_a_refused_connection_hands_the_sms_to_the_secondary_at_once(
    api: Api, container: Container, twilio: FakeTwilio, smsapi: FakeSmsapi
) -> None:
    """Nothing can have been sent through a gateway that could not be reached."""
    gateways = _gateways(smsapi, twilio)
    smsapi.stop()  # the port is closed now: connection refused
    top_up(container, api.tenant.id)
    delivery_id = send_sms(api, sms_client(api))
    worker = make_worker(
        container, sms_gateways=gateways, sms_primary="smsapi", sms_secondary="twilio"
    )
    drain(worker)
    row = delivery(container, delivery_id)
    assert (row.status, row.gateway, row.attempts) == ("sent", "twilio", 1)
    assert len(twilio.sent) == 1
    assert ledger(container, delivery_id) == _charged(container, delivery_id)


def test_an_unknown_answer_is_retried_at_the_same_idempotent_gateway(
    api: Api, container: Container, smsapi: FakeSmsapi, twilio: FakeTwilio
) -> None:
    """SMSAPI took it but the answer was lost: the retry goes back to SMSAPI (which knows
    the idx, error 53) instead of Twilio, so the SMS is sent once and charged once."""
    top_up(container, api.tenant.id)
    delivery_id = send_sms(api, sms_client(api))
    worker = make_worker(
        container,
        sms_gateways=_gateways(smsapi, twilio),
        sms_primary="twilio",
        sms_secondary="smsapi",
        retry_base_seconds=0.0,
    )
    twilio.fail_http(503, times=None)
    smsapi.drop()  # processed, then the connection is cut before the answer
    drain(worker, rounds=1)
    row = delivery(container, delivery_id)
    # Twilio answered 503 (one error, not enough to fail over); with the 503 nothing
    # proves Twilio did not send, so no second gateway in the same attempt.
    assert (row.status, row.gateway, row.error_code) == ("queued", "twilio", "http_503")
    worker.sms.health = GatewayHealth(errors=1, window_s=60, cooldown_s=60)
    worker.sms.health.record("twilio", False, time.monotonic())  # Twilio is out of rotation
    make_due(container, [delivery_id])
    drain(worker, rounds=1)
    row = delivery(container, delivery_id)
    assert (row.status, row.gateway, row.error_code) == ("queued", "smsapi", "http_disconnected")
    assert len(smsapi.sent) == 1
    twilio.reset()
    worker.sms.health = GatewayHealth()  # Twilio is healthy again
    make_due(container, [delivery_id])
    drain(worker)  # Twilio is healthy and the primary, but the retry goes back to SMSAPI
    row = delivery(container, delivery_id)
    assert (row.status, row.gateway) == ("sent", "smsapi")
    assert len(smsapi.sent) == 1 and len(smsapi.requests) == 2 and twilio.sent == []
    assert ledger(container, delivery_id) == _charged(container, delivery_id)
    balance(container, api.tenant.id)


def test_sent_is_charged_once_and_a_permanent_failure_released(
    api: Api, container: Container, smsapi: FakeSmsapi
) -> None:
    top_up(container, api.tenant.id, 50_00)
    start = balance(container, api.tenant.id)
    client = sms_client(api)
    worker = make_worker(container, sms_gateways=_gateways(smsapi), sms_primary="smsapi")
    sent_id = send_sms(api, client)
    cost_sent = delivery(container, sent_id).cost_minor or 0
    assert balance(container, api.tenant.id) == start - cost_sent  # held at queue time
    drain(worker)
    smsapi.error(13, "No correct phone numbers")  # the next send is refused for good
    failed_id = send_sms(api, client, "Drugi SMS.")
    cost_failed = delivery(container, failed_id).cost_minor or 0
    assert balance(container, api.tenant.id) == start - cost_sent - cost_failed
    drain(worker)
    statuses = {i: delivery(container, i).status for i in (sent_id, failed_id)}
    assert statuses == {sent_id: "sent", failed_id: "failed"}
    assert delivery(container, failed_id).error_code == "smsapi_13"
    assert ledger(container, sent_id) == _charged(container, sent_id)
    assert ledger(container, failed_id) == _released(container, failed_id)
    assert balance(container, api.tenant.id) == start - cost_sent
    drain(worker)  # nothing more happens however often it runs
    assert balance(container, api.tenant.id) == start - cost_sent


def test_retried_then_sent_is_charged_once(
    api: Api, container: Container, smsapi: FakeSmsapi
) -> None:
    top_up(container, api.tenant.id)
    start = balance(container, api.tenant.id)
    delivery_id = send_sms(api, sms_client(api))
    cost = delivery(container, delivery_id).cost_minor or 0
    worker = make_worker(
        container, sms_gateways=_gateways(smsapi), sms_primary="smsapi", retry_base_seconds=0.0
    )
    smsapi.drop()  # accepted, answer lost: the retry meets error 53 (already sent)
    drain(worker, rounds=1)
    assert delivery(container, delivery_id).status == "queued"
    assert ledger(container, delivery_id) == [("reservation", -cost)]
    assert balance(container, api.tenant.id) == start - cost
    make_due(container, [delivery_id])
    drain(worker)
    row = delivery(container, delivery_id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(smsapi.sent) == 1 and len(smsapi.requests) == 2
    assert ledger(container, delivery_id) == _charged(container, delivery_id)
    assert balance(container, api.tenant.id) == start - cost


def test_retries_exhausted_release_the_money(
    api: Api, container: Container, smsapi: FakeSmsapi
) -> None:
    top_up(container, api.tenant.id)
    start = balance(container, api.tenant.id)
    delivery_id = send_sms(api, sms_client(api))
    smsapi.fail_http(503, times=None)
    worker = make_worker(
        container,
        sms_gateways=_gateways(smsapi),
        sms_primary="smsapi",
        max_attempts=2,
        retry_base_seconds=0.0,
    )
    drain(worker, rounds=1)
    make_due(container, [delivery_id])
    drain(worker)
    row = delivery(container, delivery_id)
    assert (row.status, row.error_code) == ("failed", "retries_exhausted:http_503")
    assert ledger(container, delivery_id) == _released(container, delivery_id)
    assert balance(container, api.tenant.id) == start


def test_a_dead_workers_last_attempt_releases_the_money(api: Api, container: Container) -> None:
    top_up(container, api.tenant.id)
    start = balance(container, api.tenant.id)
    delivery_id = send_sms(api, sms_client(api))
    with container.uows.system() as uow:
        claimed, _ = outbox.claim(uow.session, "dead-worker", 500, lease_seconds=60, max_attempts=1)
        uow.commit()
    assert delivery_id in {str(c.delivery_id) for c in claimed}
    with container.uows.system() as uow:
        uow.session.execute(
            update(Delivery)
            .where(Delivery.claimed_by == "dead-worker")
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        uow.commit()
    drain(make_worker(container, max_attempts=1))
    row = delivery(container, delivery_id)
    assert (row.status, row.error_code) == ("failed", "retries_exhausted:lease_expired")
    assert ledger(container, delivery_id) == _released(container, delivery_id)
    assert balance(container, api.tenant.id) == start
