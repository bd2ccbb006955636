"""A tenant's SMS settings (seed 002) and its own gateway accounts (seed 003).

Choosing an approved sender name is allowed here, and the answer says plainly that
nobody can reply to such SMS (seed 000): replies need a number.
"""

import json
import secrets
import uuid
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kanal.core.errors import invalid
from kanal.core.i18n import translate
from kanal.core.secretbox import SecretBox
from kanal.services.common import Schema, TenantInfo, View, get_or_404
from kanal.services.sender_names import approved_name
from kanal.services.sms_compose import DEFAULT_MAX_SEGMENTS
from kanal.services.sms_gateways import tenant_gateway_key
from kanal.store.sms import SenderName, SmsGatewayAccount, SmsSettings
from kanal.store.uow import UnitOfWork

GatewayKind = Literal["smsapi", "twilio", "generic"]

REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "smsapi": ("token",),
    "twilio": ("account_sid", "auth_token"),
    "generic": ("url",),
}


class SmsSettingsIn(Schema):
    enabled: bool = True
    transliterate: bool = False  # send without Polish letters (seed 000, 002)
    smart: bool = False  # replace typographic lookalikes with GSM-7 ones
    max_segments: int = Field(default=DEFAULT_MAX_SEGMENTS, ge=1, le=20)
    sender_name_id: uuid.UUID | None = None  # an approved name; None: numbers
    primary_gateway: str | None = Field(default=None, max_length=50)
    secondary_gateway: str | None = Field(default=None, max_length=50)


class SmsSettingsView(View):
    enabled: bool
    transliterate: bool
    smart: bool
    max_segments: int
    sender_name_id: uuid.UUID | None
    sender_name: str | None
    primary_gateway: str | None
    secondary_gateway: str | None
    replies_possible: bool
    notice: str | None = None  # why replies are impossible, in the tenant's language


def _view(session: Any, tenant: TenantInfo, row: SmsSettings | None) -> SmsSettingsView:
    row = row or SmsSettings(
        enabled=True, transliterate=False, smart=False, max_segments=DEFAULT_MAX_SEGMENTS
    )
    name = None
    if row.sender_name_id is not None:
        name = session.scalars(
            select(SenderName.name).where(SenderName.id == row.sender_name_id)
        ).first()
    return SmsSettingsView(
        enabled=row.enabled,
        transliterate=row.transliterate,
        smart=row.smart,
        max_segments=row.max_segments,
        sender_name_id=row.sender_name_id,
        sender_name=name,
        primary_gateway=row.primary_gateway,
        secondary_gateway=row.secondary_gateway,
        replies_possible=name is None,
        notice=translate("sms_sender_name_no_replies", tenant.locale, {"name": name})
        if name
        else None,
    )


def get_settings(uow: UnitOfWork, tenant: TenantInfo) -> SmsSettingsView:
    with uow:
        row = uow.session.scalars(select(SmsSettings)).first()
        return _view(uow.session, tenant, row)


def put_settings(uow: UnitOfWork, tenant: TenantInfo, data: SmsSettingsIn) -> SmsSettingsView:
    with uow:
        session = uow.session
        if data.sender_name_id is not None and approved_name(session, data.sender_name_id) is None:
            raise invalid("sms_sender_name_not_approved", "sender_name_id")
        names = set(session.scalars(select(SmsGatewayAccount.name)))
        for field in ("primary_gateway", "secondary_gateway"):
            value = getattr(data, field)
            if value is not None and value not in names:
                raise invalid("sms_gateway_unknown", field, name=value)
        row = session.scalars(select(SmsSettings)).first()
        if row is None:
            row = SmsSettings(tenant_id=tenant.id)
            session.add(row)
        for name, value in data.model_dump().items():
            setattr(row, name, value)
        uow.commit()
        return _view(session, tenant, row)


# --- the tenant's own gateway accounts ----------------------------------------------------


class GatewayIn(Schema):
    name: str = Field(min_length=1, max_length=50, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    kind: GatewayKind
    config: dict[str, Any]  # the adapter's settings: token, account_sid, url, mapping …


class GatewayView(View):
    id: uuid.UUID
    name: str
    kind: str
    callback_url: str  # give it to the provider if it asks (we send it with every SMS)


def _gateway_view(row: SmsGatewayAccount, base_url: str) -> GatewayView:
    key = tenant_gateway_key(row.id)
    return GatewayView(
        id=row.id,
        name=row.name,
        kind=row.kind,
        callback_url=f"{base_url}/callbacks/sms/{key}?k={row.callback_token}",
    )


def add_gateway(
    uow: UnitOfWork, tenant: TenantInfo, data: GatewayIn, box: SecretBox, base_url: str
) -> GatewayView:
    """Store a gateway account; its secrets are encrypted at rest and never shown again."""
    missing = [f for f in REQUIRED_FIELDS[data.kind] if not data.config.get(f)]
    if missing:
        raise invalid(
            "sms_gateway_config_invalid", "config", kind=data.kind, fields=", ".join(missing)
        )
    config = {**data.config, "kind": data.kind}
    with uow:
        row = SmsGatewayAccount(
            tenant_id=tenant.id,
            name=data.name,
            kind=data.kind,
            config_encrypted=box.seal(json.dumps(config)),
            callback_token=secrets.token_urlsafe(24),
        )
        uow.session.add(row)
        try:
            uow.commit()
        except IntegrityError as exc:
            uow.rollback()
            raise invalid("sms_gateway_name_taken", "name", name=data.name) from exc
        return _gateway_view(row, base_url)


def list_gateways(uow: UnitOfWork, base_url: str) -> list[GatewayView]:
    with uow:
        rows = uow.session.scalars(select(SmsGatewayAccount).order_by(SmsGatewayAccount.name))
        return [_gateway_view(row, base_url) for row in rows]


def delete_gateway(uow: UnitOfWork, gateway_id: uuid.UUID) -> None:
    """Remove an account; settings that named it fall back to the service's gateways."""
    with uow:
        row = get_or_404(uow.session, SmsGatewayAccount, gateway_id, "gateway")
        for settings in uow.session.scalars(select(SmsSettings)):
            if settings.primary_gateway == row.name:
                settings.primary_gateway = settings.secondary_gateway
                settings.secondary_gateway = None
            if settings.secondary_gateway == row.name:
                settings.secondary_gateway = None
        uow.session.delete(row)
        uow.commit()
