"""Which gateway sends a tenant's SMS, and where each gateway posts its delivery reports.

A gateway is known by a *key*: the name of a service gateway (``settings.sms_gateways``,
"dev" for the dev capture), or ``t<hex id>`` for a tenant's own account. Its reports come
to ``<base_url>/callbacks/sms/<key>?k=<token>``: service gateways' tokens are derived
from the secret key; a tenant account keeps its own random token.
"""

import uuid

from kanal.core.secretbox import SecretBox

DEV = "dev"


def tenant_gateway_key(account_id: uuid.UUID) -> str:
    return f"t{account_id.hex}"


def account_id_of(key: str) -> uuid.UUID | None:
    """The tenant account id in a ``t<hex>`` key; None for a service gateway's key."""
    if len(key) == 33 and key.startswith("t"):
        try:
            return uuid.UUID(hex=key[1:])
        except ValueError:
            return None
    return None


def service_callback_token(secrets: SecretBox, key: str) -> str:
    return secrets.derive(f"sms-callback:{key}")


def callback_base(base_url: str, key: str) -> str:
    """The callback URL without its token (``channels.sms.reports.callback_url`` adds it)."""
    return f"{base_url.rstrip('/')}/callbacks/sms/{key}"
