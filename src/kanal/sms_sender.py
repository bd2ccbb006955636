"""The worker's SMS sending: pick a gateway (primary or secondary), send, learn from it.

Choice: ``core.failover.GatewayHealth`` keeps the primary unless it has failed repeatedly
(then the secondary, with a trial of the primary after each cool-down).

Failing over *within* one attempt happens only when the answer proves nothing was sent:
the connection was refused, the provider refused to process it (HTTP 429, SMSAPI's
internal-error codes), or the credentials or settings are wrong. Then the other gateway
is tried at once. After an answer that leaves it open whether the SMS went out (a
timeout, a hang-up, HTTP 5xx) the delivery is retried later instead, and that retry goes
back to the same gateway when the gateway refuses duplicates (SMSAPI's ``idx``) and is
healthy: sending it through the other provider could deliver it twice.

"dev" is the dev capture: the SMS is stored for /dev/outbox (only with ``dev_outbox``).
"""

import logging
import re
import time

from kanal.channels.base import DeliveryResult, Failed, RetryLater, Sent
from kanal.channels.sms.registry import GatewayConfigError, GatewayRegistry
from kanal.config import Settings
from kanal.core.failover import GatewayHealth
from kanal.services.outbox import SMS_ACCOUNT_PROBLEMS, Outcome
from kanal.services.prepare import Work
from kanal.services.prepare_sms import SmsRoute
from kanal.services.sms_gateways import DEV
from kanal.store.messaging import CapturedMail

log = logging.getLogger("kanal.worker")

# Refused before anything was sent: safe to hand the message to the other gateway now.
_REFUSED = frozenset(
    {"http_connect", "http_429", "twilio_20429", "smsapi_8", "smsapi_201", "smsapi_666",
     "smsapi_999"}
)  # fmt: skip
# About one recipient, not the gateway (too many SMS to one number, an unreachable phone).
_RECIPIENT_PROBLEMS = frozenset({"smsapi_52", "twilio_30003"})
# Whether it went out is unknown.
_UNKNOWN = frozenset({"http_timeout", "http_disconnected", "smsapi_bad_response", "adapter_error"})
_HTTP_5XX = re.compile(r"(http|generic)_5\d\d")


def gateway_failed(result: DeliveryResult) -> bool:
    """Counts against the gateway's health (a per-recipient problem does not)."""
    if isinstance(result, Failed):
        return result.code in SMS_ACCOUNT_PROBLEMS
    return isinstance(result, RetryLater) and result.code not in _RECIPIENT_PROBLEMS


def nothing_sent(result: DeliveryResult) -> bool:
    """The answer proves the SMS did not go out through this gateway."""
    if isinstance(result, Failed):
        return result.code in SMS_ACCOUNT_PROBLEMS
    return isinstance(result, RetryLater) and result.code in _REFUSED


def answer_unknown(code: str | None) -> bool:
    return code is not None and (code in _UNKNOWN or bool(_HTTP_5XX.fullmatch(code)))


class SmsSender:
    def __init__(self, settings: Settings) -> None:
        self.dev_outbox = settings.dev_outbox
        self.registry = GatewayRegistry(connections=settings.worker_concurrency)
        self.health = GatewayHealth(
            settings.sms_failover_errors,
            settings.sms_failover_window_seconds,
            settings.sms_failover_cooldown_seconds,
        )

    def _order(self, route: SmsRoute) -> tuple[str, str | None]:
        """(first choice, the other): the primary, unless a retry must go back (see above)."""
        primary = route.primary.key
        secondary = route.secondary.key if route.secondary else None
        if (
            secondary is not None
            and route.last_gateway == secondary
            and answer_unknown(route.last_code)
            and self._idempotent(route, secondary)
        ):
            return secondary, primary
        return primary, secondary

    def _idempotent(self, route: SmsRoute, key: str) -> bool:
        try:
            return self.registry.gateway(route.target(key).spec).capabilities.idempotent_send
        except GatewayConfigError:
            return False

    async def send(self, work: Work) -> Outcome:
        assert work.sms is not None and work.sms_route is not None
        route = work.sms_route
        first, other = self._order(route)
        key = self.health.choose(first, other, time.monotonic())
        result, capture = await self._attempt(work, route, key)
        if other is not None and nothing_sent(result):
            second = other if key == first else first
            log.info(
                "delivery %s: %s refused (%s); trying %s",
                work.claimed.delivery_id, key, getattr(result, "code", ""), second,
            )  # fmt: skip
            key = second
            result, capture = await self._attempt(work, route, key)
        return Outcome(
            work.claimed, result, capture=capture, message_id=work.message_id, gateway=key
        )

    async def _attempt(
        self, work: Work, route: SmsRoute, key: str
    ) -> tuple[DeliveryResult, CapturedMail | None]:
        assert work.sms is not None
        if key == DEV:
            return self._capture(work)
        try:
            gateway = self.registry.gateway(route.target(key).spec)
            result = await gateway.send(route.message_for(work.sms, key))
        except GatewayConfigError as exc:
            result = Failed("sms_config", f"SMS gateway {key}: {exc}")
        except Exception as exc:  # an adapter bug must not lose the delivery
            log.exception("sms gateway %s raised on delivery %s", key, work.claimed.delivery_id)
            result = RetryLater("adapter_error", repr(exc))
        self.health.record(key, not gateway_failed(result), time.monotonic())
        return result, None

    def _capture(self, work: Work) -> tuple[DeliveryResult, CapturedMail | None]:
        sms = work.sms
        assert sms is not None
        if not self.dev_outbox:
            reason = "no SMS gateway is configured (KANAL_SMS_GATEWAYS, KANAL_SMS_PRIMARY)"
            return Failed("sms_config", reason), None
        capture = CapturedMail(
            tenant_id=work.claimed.tenant_id,
            channel="sms",
            sender=sms.sender,
            recipients=sms.to,
            subject=None,
            raw=sms.text.encode(),
        )
        return Sent(detail="captured by the dev outbox"), capture

    async def aclose(self) -> None:
        await self.registry.aclose()
