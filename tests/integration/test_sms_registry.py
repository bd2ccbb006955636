"""Gateways built from configuration: the right adapter, one keep-alive session shared by
all, rebuilt when a configuration changes, and a bad configuration refused clearly."""

import asyncio
from typing import Any

import pytest

from kanal.channels.base import Sent
from kanal.channels.sms import GenericGateway, SmsapiGateway, SmsMessage, TwilioGateway
from kanal.channels.sms.registry import (
    GatewayConfigError,
    GatewayRegistry,
    GatewaySpec,
    build_gateway,
)
from tests.fakes.sms_gateways import SMSAPI_TOKEN, FakeSmsapi, FakeTwilio


def _sms(n: int) -> SmsMessage:
    return SmsMessage("+48601234567", "FixIT", f"Wiadomość {n}", f"key-{n}")


def test_kinds_build_their_adapters() -> None:
    smsapi = build_gateway("a", {"kind": "smsapi", "token": "t", "test_mode": True}, None)
    twilio = build_gateway(
        "b", {"kind": "twilio", "account_sid": "AC1", "auth_token": "x", "timeout": 3}, None
    )
    generic = build_gateway(
        "c",
        {
            "kind": "generic",
            "url": "https://gw.example/send",
            "auth": {"kind": "header", "header": "X-Key", "token": "k"},
            "temporary_errors": ["busy", 7],
            "idempotent": True,
        },
        None,
    )
    assert isinstance(smsapi, SmsapiGateway) and smsapi.name == "a"
    assert isinstance(twilio, TwilioGateway) and twilio.name == "b"
    assert isinstance(generic, GenericGateway) and generic.name == "c"
    assert generic.config.temporary_errors == frozenset({"busy", "7"})
    assert generic.capabilities.idempotent_send


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"kind": "nexmo"}, "unknown gateway kind 'nexmo'"),
        ({"token": "t"}, "unknown gateway kind None"),
        ({"kind": "smsapi"}, "'token' is required"),
        ({"kind": "smsapi", "token": "t", "tokne": "x"}, "unknown settings ['tokne']"),
        ({"kind": "twilio", "account_sid": "AC1"}, "'auth_token' is required"),
        ({"kind": "generic"}, "'url' is required"),
        ({"kind": "generic", "url": "u", "to_feld": "x"}, "unknown settings ['to_feld']"),
        ({"kind": "generic", "url": "u", "auth": {"knd": "bearer"}}, "generic gateway:"),
        ({"kind": "generic", "url": "u", "auth": "bearer"}, "'auth' must be an object"),
    ],
)
def test_a_bad_configuration_is_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(GatewayConfigError) as error:
        build_gateway("x", config, None)
    assert message in str(error.value)


def test_one_keep_alive_session_for_every_gateway(smsapi: FakeSmsapi, twilio: FakeTwilio) -> None:
    registry = GatewayRegistry(connections=64)
    first = GatewaySpec.of("s", {"kind": "smsapi", "token": SMSAPI_TOKEN, "base_url": smsapi.url})
    second = GatewaySpec.of(
        "t",
        {
            "kind": "twilio",
            "account_sid": twilio.account_sid,
            "auth_token": twilio.auth_token,
            "base_url": twilio.url,
        },
    )

    async def go() -> None:
        a, b = registry.gateway(first), registry.gateway(second)
        assert registry.gateway(first) is a  # built once
        for n in range(5):
            assert isinstance(await a.send(_sms(n)), Sent)
            assert isinstance(await b.send(_sms(n)), Sent)
        session = registry._session
        assert session is not None and session.connector is not None
        assert session.connector.limit >= 64
        await registry.aclose()
        assert session.closed

    asyncio.run(go())
    assert len({r.client_port for r in smsapi.requests}) == 1  # one connection, kept alive
    assert len({r.client_port for r in twilio.requests}) == 1


def test_a_changed_configuration_is_rebuilt(smsapi: FakeSmsapi) -> None:
    registry = GatewayRegistry()
    old = GatewaySpec.of("t1", {"kind": "smsapi", "token": "wrong", "base_url": smsapi.url})
    new = GatewaySpec.of("t1", {"kind": "smsapi", "token": SMSAPI_TOKEN, "base_url": smsapi.url})
    assert old.fingerprint != new.fingerprint
    assert GatewaySpec.of("t1", dict(reversed(list(new.config.items())))) == new

    async def go() -> None:
        before = registry.gateway(old)
        after = registry.gateway(new)
        assert after is not before and registry.gateway(new) is after
        assert isinstance(await after.send(_sms(1)), Sent)
        await registry.aclose()

    asyncio.run(go())


def test_a_new_event_loop_gets_a_new_session(smsapi: FakeSmsapi) -> None:
    registry = GatewayRegistry()
    spec = GatewaySpec.of("s", {"kind": "smsapi", "token": SMSAPI_TOKEN, "base_url": smsapi.url})

    async def send(n: int) -> object:
        return await registry.gateway(spec).send(_sms(n))

    assert isinstance(asyncio.run(send(1)), Sent)
    assert isinstance(asyncio.run(send(2)), Sent)  # the first loop's session is gone
    asyncio.run(registry.aclose())
