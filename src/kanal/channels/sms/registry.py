"""Build SMS gateways from configuration, sharing one HTTP session, and keep them built.

A gateway's configuration is a JSON object with its ``kind`` and the adapter's settings:

    {"kind": "smsapi", "token": "…", "base_url": "https://api.smsapi.com", "test_mode": false}
    {"kind": "twilio", "account_sid": "AC…", "auth_token": "…", "api_key_sid": null}
    {"kind": "generic", "url": "https://…/send", "auth": {"kind": "bearer", "token": "…"},
     "to_field": "to", "message_id_path": "data.id", "temporary_errors": ["busy"], …}

Every kind also takes ``timeout`` (seconds), and a generic one ``report`` (the mapping of its
delivery reports, read by ``services.sms_callbacks``). Unknown fields are an error, not ignored: a
misspelt setting must not silently send with defaults.

One ``aiohttp.ClientSession`` serves every gateway: connections are kept alive between
sends, and its connector allows as many connections as the worker has sends in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import aiohttp

from kanal.channels.sms.base import SmsGateway
from kanal.channels.sms.generic import GenericAuth, GenericGateway, GenericGatewayConfig
from kanal.channels.sms.smsapi import SMSAPI_PL, SmsapiGateway
from kanal.channels.sms.twilio import TWILIO_API, TwilioGateway

KINDS = ("smsapi", "twilio", "generic")


class GatewayConfigError(ValueError):
    """The configuration cannot build a gateway (unknown kind, missing or unknown field)."""


@dataclass(frozen=True, slots=True)
class GatewaySpec:
    """A gateway to build: its key (see ``services.sms_gateways``) and configuration.

    ``fingerprint`` changes when the configuration does, so an edited tenant account is
    rebuilt while an unchanged one keeps its gateway.
    """

    key: str
    config: Mapping[str, Any]
    fingerprint: str

    @classmethod
    def of(cls, key: str, config: Mapping[str, Any]) -> GatewaySpec:
        text = json.dumps(config, sort_keys=True, default=str)
        return cls(key, config, hashlib.sha256(text.encode()).hexdigest()[:16])


def _take(config: dict[str, Any], name: str, kind: str) -> Any:
    if name not in config:
        raise GatewayConfigError(f"{kind} gateway: {name!r} is required")
    return config.pop(name)


def _no_rest(config: Mapping[str, Any], kind: str) -> None:
    if config:
        raise GatewayConfigError(f"{kind} gateway: unknown settings {sorted(config)}")


def _generic_config(config: dict[str, Any]) -> GenericGatewayConfig:
    auth = config.pop("auth", None) or {}
    if not isinstance(auth, Mapping):
        raise GatewayConfigError("generic gateway: 'auth' must be an object")
    known = {f.name for f in fields(GenericGatewayConfig)}
    _no_rest({k: v for k, v in config.items() if k not in known}, "generic")
    values = dict(config)
    for name in ("temporary_errors", "duplicate_errors"):
        codes = values.get(name)
        if codes is not None:
            codes = [codes] if isinstance(codes, str | int) else codes
            values[name] = frozenset(str(code) for code in codes)
    try:
        return GenericGatewayConfig(auth=GenericAuth(**auth), **values)
    except TypeError as exc:
        raise GatewayConfigError(f"generic gateway: {exc}") from exc


def build_gateway(
    key: str, config: Mapping[str, Any], session: aiohttp.ClientSession | None
) -> SmsGateway:
    """One adapter for ``config`` (see the module docstring), named ``key``."""
    rest = dict(config)
    kind = rest.pop("kind", None)
    timeout = float(rest.pop("timeout", 10.0))
    rest.pop("report", None)  # how its delivery reports read: the callbacks' concern
    gateway: SmsGateway
    if kind == "smsapi":
        gateway = SmsapiGateway(
            str(_take(rest, "token", kind)),
            base_url=str(rest.pop("base_url", SMSAPI_PL)),
            test_mode=bool(rest.pop("test_mode", False)),
            session=session, timeout=timeout, name=key,
        )  # fmt: skip
    elif kind == "twilio":
        gateway = TwilioGateway(
            str(_take(rest, "account_sid", kind)),
            str(_take(rest, "auth_token", kind)),
            api_key_sid=rest.pop("api_key_sid", None),
            base_url=str(rest.pop("base_url", TWILIO_API)),
            session=session, timeout=timeout, name=key,
        )  # fmt: skip
    elif kind == "generic":
        if "url" not in rest:
            raise GatewayConfigError("generic gateway: 'url' is required")
        generic = _generic_config(rest)
        return GenericGateway(generic, session=session, timeout=timeout, name=key)
    else:
        raise GatewayConfigError(f"unknown gateway kind {kind!r} (one of {', '.join(KINDS)})")
    _no_rest(rest, kind)
    return gateway


def shared_session(connections: int) -> aiohttp.ClientSession:
    """One keep-alive session for every gateway; call inside the event loop that uses it."""
    connector = aiohttp.TCPConnector(
        limit=max(connections, 10),
        limit_per_host=max(connections, 10),
        keepalive_timeout=30,
    )
    return aiohttp.ClientSession(connector=connector)


class GatewayRegistry:
    """Built gateways by key, rebuilt when their configuration changes.

    The session belongs to one event loop: used from another (each ``asyncio.run``),
    the registry starts afresh with a new session.
    """

    def __init__(self, connections: int = 64) -> None:
        self.connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._built: dict[str, tuple[str, SmsGateway]] = {}

    def gateway(self, spec: GatewaySpec) -> SmsGateway:
        """The gateway for ``spec``; raises :class:`GatewayConfigError` for a bad config."""
        loop = asyncio.get_running_loop()
        if self._session is None or self._loop is not loop or self._session.closed:
            self._session, self._loop = shared_session(self.connections), loop
            self._built.clear()
        built = self._built.get(spec.key)
        if built is not None and built[0] == spec.fingerprint:
            return built[1]
        gateway = build_gateway(spec.key, spec.config, self._session)
        self._built[spec.key] = (spec.fingerprint, gateway)
        return gateway

    async def aclose(self) -> None:
        """Close the shared session (the gateways use it; they own nothing to close)."""
        session, self._session, self._loop = self._session, None, None
        self._built.clear()
        if session is not None and not session.closed:
            await session.close()
