"""Fixtures of the integration tests: the fake SMS providers, a fresh one per test."""

from collections.abc import Iterator

import pytest

from tests.fakes.sms_gateways import CallbackSink, FakeGenericGateway, FakeSmsapi, FakeTwilio


@pytest.fixture
def smsapi() -> Iterator[FakeSmsapi]:
    """Accepts the token ``SMSAPI_TOKEN``."""
    with FakeSmsapi() as fake:
        yield fake


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def generic() -> Iterator[FakeGenericGateway]:
    with FakeGenericGateway() as fake:
        yield fake


@pytest.fixture
def sink() -> Iterator[CallbackSink]:
    with CallbackSink() as fake:
        yield fake
