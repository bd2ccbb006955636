"""Turn claimed SMS deliveries into messages for a gateway, with the route they may take.

Everything was decided at compose time (text, sender, size, price); here only the way
out is: the tenant's own gateways (``SmsSettings.primary_gateway``/``secondary_gateway``,
names of its ``SmsGatewayAccount`` rows), else the service's (``settings.sms_primary``/
``sms_secondary``, names in ``settings.sms_gateways``; "dev" is the dev capture). A tenant
that names its own primary uses its own route only: its secondary, or none — never the
service's gateways behind its back. A tenant that names only a secondary gets the
service's primary with its own secondary.

Per batch: one query for the settings, one for the accounts; each account's
configuration is decrypted once.
"""

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from kanal.channels.base import Failed
from kanal.channels.sms.base import SmsMessage
from kanal.channels.sms.registry import GatewaySpec
from kanal.channels.sms.reports import callback_url
from kanal.core.secretbox import SecretBox
from kanal.services.sms_gateways import (
    DEV,
    callback_base,
    service_callback_token,
    tenant_gateway_key,
)
from kanal.store.messaging import Delivery
from kanal.store.sms import SmsGatewayAccount, SmsSettings


@dataclass(frozen=True, slots=True)
class SmsTarget:
    """One gateway a delivery may go through, and where that gateway reports back."""

    spec: GatewaySpec
    # "<base>/callbacks/sms/<key>?k=<token>" (None: no reports); each SMS adds "&ref=<id>"
    callback_prefix: str | None = None

    @property
    def key(self) -> str:
        return self.spec.key


@dataclass(frozen=True, slots=True)
class SmsRoute:
    """The primary, the optional secondary, and what the previous attempt ran into."""

    primary: SmsTarget
    secondary: SmsTarget | None = None
    last_gateway: str | None = None  # the gateway of the previous attempt
    last_code: str | None = None  # its error code (the delivery's error_code)

    def target(self, key: str) -> SmsTarget:
        if self.secondary is not None and key == self.secondary.key:
            return self.secondary
        return self.primary

    def message_for(self, message: SmsMessage, key: str) -> SmsMessage:
        """``message`` as gateway ``key`` gets it: with that gateway's report URL."""
        prefix = self.target(key).callback_prefix
        # = callback_url(base, token, reference), without parsing the URL for every SMS
        url = None if prefix is None else f"{prefix}&ref={quote(message.idempotency_key, safe='')}"
        return replace(message, callback_url=url)


@dataclass(frozen=True, slots=True)
class SmsSetup:
    """What the service configured: its gateways and how providers reach it."""

    base_url: str
    gateways: Mapping[str, Mapping[str, Any]]
    primary: str
    secondary: str | None
    secrets: SecretBox


@dataclass
class SmsBatch:
    """The SMS settings and gateway accounts of the tenants in one batch."""

    settings: dict[uuid.UUID, SmsSettings]
    accounts: dict[tuple[uuid.UUID, str], SmsGatewayAccount]
    opened: dict[str, SmsTarget | Failed]  # decrypted once per batch


def load(session: Session, tenant_ids: Iterable[uuid.UUID]) -> SmsBatch:
    wanted = set(tenant_ids)
    if not wanted:
        return SmsBatch({}, {}, {})
    settings = {
        s.tenant_id: s
        for s in session.scalars(select(SmsSettings).where(SmsSettings.tenant_id.in_(wanted)))
    }
    named = {t for t, s in settings.items() if s.primary_gateway or s.secondary_gateway}
    accounts = {}
    if named:
        accounts = {
            (a.tenant_id, a.name): a
            for a in session.scalars(
                select(SmsGatewayAccount).where(SmsGatewayAccount.tenant_id.in_(named))
            )
        }
    return SmsBatch(settings, accounts, {})


def _service_target(setup: SmsSetup, name: str) -> SmsTarget | Failed:
    if name == DEV:
        return SmsTarget(GatewaySpec.of(DEV, {"kind": DEV}))
    config = setup.gateways.get(name)
    if config is None:
        return Failed("sms_config", f"the service's SMS gateway {name!r} is not configured")
    token = service_callback_token(setup.secrets, name)
    return SmsTarget(
        GatewaySpec.of(name, config), callback_url(callback_base(setup.base_url, name), token)
    )


def _tenant_target(
    setup: SmsSetup, account: SmsGatewayAccount | None, name: str
) -> SmsTarget | Failed:
    if account is None:
        return Failed("sms_config", f"the account's SMS gateway {name!r} does not exist")
    try:
        config = json.loads(setup.secrets.open(account.config_encrypted))
    except ValueError:  # a changed secret key, or not JSON
        return Failed("sms_config", f"the settings of SMS gateway {name!r} cannot be read")
    if not isinstance(config, dict):
        return Failed("sms_config", f"the settings of SMS gateway {name!r} are not an object")
    key = tenant_gateway_key(account.id)
    return SmsTarget(
        GatewaySpec.of(key, {**config, "kind": account.kind}),
        callback_url(callback_base(setup.base_url, key), account.callback_token),
    )


def _target(batch: SmsBatch, setup: SmsSetup, tenant_id: uuid.UUID, own: str | None,
            service: str | None) -> SmsTarget | Failed | None:  # fmt: skip
    """The tenant's own gateway named ``own``, else the service's named ``service``."""
    if own:
        account = batch.accounts.get((tenant_id, own))
        cache_key = f"t:{account.id}" if account else f"missing:{tenant_id}:{own}"
        if cache_key not in batch.opened:
            batch.opened[cache_key] = _tenant_target(setup, account, own)
    elif service:
        cache_key = f"s:{service}"
        if cache_key not in batch.opened:
            batch.opened[cache_key] = _service_target(setup, service)
    else:
        return None
    return batch.opened[cache_key]


def route(batch: SmsBatch, setup: SmsSetup, delivery: Delivery) -> SmsRoute | Failed:
    """Where this delivery may go: see the module docstring."""
    settings = batch.settings.get(delivery.tenant_id)
    own_primary = settings.primary_gateway if settings else None
    own_secondary = settings.secondary_gateway if settings else None
    primary = _target(batch, setup, delivery.tenant_id, own_primary, setup.primary)
    if primary is None or isinstance(primary, Failed):
        return primary or Failed("sms_config", "no SMS gateway is configured")
    secondary = _target(
        batch, setup, delivery.tenant_id, own_secondary, None if own_primary else setup.secondary
    )
    if isinstance(secondary, Failed) or (secondary and secondary.key == primary.key):
        secondary = None  # a broken or repeated secondary must not stop the primary
    return SmsRoute(primary, secondary, delivery.gateway, delivery.error_code)


def sms_work(
    batch: SmsBatch, setup: SmsSetup, delivery: Delivery
) -> tuple[SmsMessage, SmsRoute] | Failed:
    """The message and its route, or why it cannot be sent."""
    if not delivery.body or not delivery.sender:
        return Failed("nothing_to_send", "the SMS has no text or no sender")
    way = route(batch, setup, delivery)
    if isinstance(way, Failed):
        return way
    message = SmsMessage(
        to=delivery.recipient,
        sender=delivery.sender,
        text=delivery.body,
        idempotency_key=str(delivery.id),
        max_parts=delivery.segments,
    )
    return way.message_for(message, way.primary.key), way
