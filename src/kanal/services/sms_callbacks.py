"""Delivery-report callbacks: which gateway called, is it genuine, what does it say.

``/callbacks/sms/<key>`` (see ``services.sms_gateways``) receives every provider's
reports. The key names the gateway, and its configuration says how to check and read
the call (the ``"kind"``):

- ``smsapi``: GET with the report in the query (several, comma-separated); our token
  ``k`` in the URL. The provider wants the body ``OK``.
- ``twilio``: a POST form signed with ``X-Twilio-Signature`` by the account's
  ``"auth_token"`` over the public URL; a JSON body is signed the ``bodySHA256`` way.
- ``generic``: a POST with a JSON report (or a list of them) and our token ``k``. Where
  its fields are is the config's ``"report"`` mapping: ``message_id_path``,
  ``status_path``, ``statuses`` ({their word: ours}), ``code_path``, ``at_path``,
  ``reference_path`` (``channels.sms.reports.GenericReportMapping``).

A service gateway's config is ``settings.sms_gateways[key]`` and its token is derived
from the secret key; a tenant's account (``t<hex>``) keeps its config sealed in its row
and its own token. One transaction per callback.
"""

import json
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, get_args

from kanal.channels.sms.reports import (
    DeliveryReport,
    DeliveryStatus,
    GenericReportMapping,
    ReportError,
    parse_generic_report,
    parse_smsapi_report,
    parse_twilio_report,
    verify_twilio_signature,
    verify_url_token,
)
from kanal.core.errors import Forbidden, KanalError
from kanal.core.secretbox import SecretBox
from kanal.services import delivery_reports as reports
from kanal.services.sms_gateways import DEV, account_id_of, service_callback_token
from kanal.services.webhooks import active_endpoints
from kanal.store.orm import utcnow
from kanal.store.sms import SmsGatewayAccount
from kanal.store.uow import UnitOfWorkFactory

log = logging.getLogger("kanal.sms.reports")

OUR_STATUSES = get_args(DeliveryStatus)
MAX_BODY = 256 * 1024
"""A report is a few hundred bytes; SMSAPI batches stay far below this."""


class CallbackForbidden(Forbidden):
    """No such gateway, or the callback's token is wrong: answer 403."""

    code = "callback_forbidden"


class CallbackSignatureInvalid(Forbidden):
    """A signed callback (Twilio) whose signature does not match: answer 403."""

    code = "callback_signature_invalid"


class CallbackMalformed(KanalError):
    """Not a report we can read: answer 400."""

    code = "callback_malformed"


@dataclass(frozen=True, slots=True)
class Callback:
    """One provider request as received (the route fills it in; no framework here)."""

    public_url: str  # as the provider called it: settings.base_url + path + query
    query: Sequence[tuple[str, str]]
    form: Sequence[tuple[str, str]]  # an url-encoded body's fields
    body: bytes
    is_json: bool
    signature: str | None = None  # X-Twilio-Signature


@dataclass(frozen=True, slots=True)
class ReportGateway:
    """A gateway that may call us: its key, kind, config and who owns it."""

    key: str
    kind: str
    config: Mapping[str, Any]
    token: str
    tenant_id: uuid.UUID | None  # a tenant's own account; None: the service's


def resolve(
    uows: UnitOfWorkFactory, secrets: SecretBox, gateways: Mapping[str, Mapping[str, Any]],
    key: str,
) -> ReportGateway:  # fmt: skip
    account_id = account_id_of(key)
    if account_id is not None:
        # Unscoped: the key, like an API key, is what tells whose account this is.
        with uows.system() as uow:
            account = uow.session.get(SmsGatewayAccount, account_id)
            if account is None:
                raise CallbackForbidden()
            try:
                config = json.loads(secrets.open(account.config_encrypted))
            except ValueError:
                log.error("gateway %s: its config cannot be opened with this secret key", key)
                raise CallbackForbidden() from None
            kind = str(config.get("kind") or account.kind)
            return ReportGateway(key, kind, config, account.callback_token, account.tenant_id)
    config = gateways.get(key)
    if config is None or key == DEV:
        raise CallbackForbidden()
    return ReportGateway(
        key, str(config.get("kind", "")), config, service_callback_token(secrets, key), None
    )


def authenticate(gateway: ReportGateway, callback: Callback) -> None:
    if gateway.kind == "twilio":
        auth_token = str(gateway.config.get("auth_token") or "")
        if not auth_token:
            log.error(
                "Twilio gateway %s has no auth_token: its callbacks cannot be checked", gateway.key
            )
            raise CallbackForbidden()
        if not verify_twilio_signature(
            auth_token,
            callback.public_url,
            callback.signature,
            params=() if callback.is_json else callback.form,
            body=callback.body,
        ):
            raise CallbackSignatureInvalid()
        return
    if not verify_url_token(callback.query, gateway.token):
        raise CallbackForbidden()


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise CallbackMalformed() from exc


def _fields(callback: Callback) -> dict[str, str]:
    if not callback.is_json:
        return dict(callback.form)
    document = _json(callback.body)
    if not isinstance(document, dict):
        raise CallbackMalformed()
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in document.items()}


def _mapping(key: str, config: Mapping[str, Any]) -> GenericReportMapping:
    spec = dict(config.get("report") or {})
    statuses = {str(k): str(v) for k, v in (spec.get("statuses") or {}).items()}
    wrong = sorted(v for v in statuses.values() if v not in OUR_STATUSES)
    if wrong:  # a typo must not pass for a status: such reports count as "unknown"
        log.error("gateway %s: report statuses %s are not %s", key, wrong, OUR_STATUSES)
    spec["statuses"] = {k: v if v in OUR_STATUSES else "unknown" for k, v in statuses.items()}
    return GenericReportMapping(**spec)


def parse(gateway: ReportGateway, callback: Callback) -> tuple[list[DeliveryReport], Any]:
    """The reports in the callback, and what to keep of it as received."""
    try:
        if gateway.kind == "smsapi":
            params = [*callback.query, *callback.form]
            return parse_smsapi_report(params), dict(params)
        if gateway.kind == "twilio":
            fields = _fields(callback)
            return [parse_twilio_report(fields, at=utcnow())], fields
        if gateway.kind == "generic":
            document = _json(callback.body) if callback.is_json else dict(callback.form)
            items = document if isinstance(document, list) else [document]
            mapping = _mapping(gateway.key, gateway.config)
            return [parse_generic_report(item, mapping) for item in items], document
    except ReportError as exc:
        log.warning("gateway %s: unreadable report: %s", gateway.key, exc)
        raise CallbackMalformed() from exc
    log.error("gateway %s: kind %r takes no delivery reports", gateway.key, gateway.kind)
    raise CallbackForbidden()


def _reference(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _raw(document: Any, index: int, count: int) -> dict[str, Any]:
    """What to keep of the request for one report: its item of a list, or the whole
    query with the item's index (SMSAPI's comma-separated batch)."""
    if isinstance(document, list):
        return {"fields": document[index]}
    return {"fields": document, **({"item": index} if count > 1 else {})}


def receive(
    uows: UnitOfWorkFactory, secrets: SecretBox, gateways: Mapping[str, Mapping[str, Any]],
    key: str, callback: Callback,
) -> reports.Tally:  # fmt: skip
    """Check, read and apply one callback, in one transaction."""
    if len(callback.body) > MAX_BODY:
        raise CallbackMalformed()
    gateway = resolve(uows, secrets, gateways, key)
    authenticate(gateway, callback)
    parsed, document = parse(gateway, callback)
    url_ref = _reference(dict(callback.query).get("ref"))
    tally = reports.Tally(received=len(parsed))
    # Unscoped: a service gateway's reports may be about any tenant's deliveries; each
    # report is filed under the tenant of the delivery it names (or the account's).
    with uows.system() as uow:
        session = uow.session
        now = utcnow()
        for index, report in enumerate(parsed):
            # The URL's ref names one delivery: it holds for a single report only.
            ref = _reference(report.reference) or (url_ref if len(parsed) == 1 else None)
            target = reports.find_delivery(session, gateway.key, report, ref, gateway.tenant_id)
            tenant_id = target.tenant_id if target else gateway.tenant_id
            if tenant_id is None:
                tally.unknown += 1
                log.warning(
                    "gateway %s: report %s for no known delivery (ref %s): ignored",
                    gateway.key, report.provider_message_id, ref,
                )  # fmt: skip
                continue
            raw = _raw(document, index, len(parsed))
            stored = reports.store(
                session, tenant_id, gateway.key, report, target.id if target else None, raw
            )
            if stored is None:
                tally.duplicates += 1
                continue
            tally.stored += 1
            if (
                target is None
                or target.status in reports.NOT_YET_SENT
                or not target.accepts(gateway.key, report.provider_message_id)
            ):
                tally.pending += 1  # applied when the send is recorded (apply_pending)
                if target is not None and target.status not in reports.NOT_YET_SENT:
                    log.warning(
                        "gateway %s: report %s does not match delivery %s (%s via %s): kept",
                        gateway.key, report.provider_message_id, target.id,
                        target.provider_message_id, target.gateway,
                    )  # fmt: skip
                continue
            endpoints = active_endpoints(session, {target.tenant_id})
            reports.apply(session, target, stored, endpoints, now)
            tally.applied += 1
        uow.commit()
    log.info(
        "gateway %s: %d reports, %d applied, %d waiting, %d repeated, %d unknown",
        gateway.key, tally.received, tally.applied, tally.pending, tally.duplicates,
        tally.unknown,
    )  # fmt: skip
    return tally
