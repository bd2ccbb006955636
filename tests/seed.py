"""A fresh database with one tenant and one client, for tests that start kanal processes."""

from dataclasses import dataclass

from kanal.bootstrap import Container, build
from kanal.config import Settings
from kanal.services.clients import ClientIn, ClientView, EmailIn, clients
from kanal.services.common import TenantInfo
from kanal.services.recipients import RecipientIn
from kanal.services.send import SendRequest, send_message
from kanal.services.tenants import TenantIn, create_tenant
from kanal.store import migrate


@dataclass
class Seeded:
    container: Container
    tenant: TenantInfo
    client: ClientView

    def queue(self, count: int, text: str = "Hej") -> set[str]:
        """Queue ``count`` emails to the client; their Message-IDs."""
        request = SendRequest(
            recipient=RecipientIn(client_id=self.client.id), channels=["email"], text=text
        )
        ids = set()
        for _ in range(count):
            view, _ = send_message(
                self.container.uows.for_tenant(self.tenant.id),
                self.tenant,
                request,
                "mail.kanal.localhost",
            )
            ids.add(str(view.email_message_id))
        return ids


def seed(url: str, secret_key: str = "test") -> Seeded:
    container = build(Settings(database_url=url, secret_key=secret_key))
    migrate.upgrade(container.uows.engine)
    view = create_tenant(container.uows, TenantIn(name="Serwis"))
    tenant = TenantInfo(view.id, view.name, view.locale, view.timezone, view.phone_region)
    client = clients.create(
        container.uows.for_tenant(tenant.id),
        tenant,
        ClientIn(name="Anna", emails=[EmailIn(address="anna@example.com")]),
    )
    return Seeded(container, tenant, client)


def relay_env(base: dict[str, str], url: str, host: str, port: int, **extra: str) -> dict[str, str]:
    """The environment of a `kanal` process using ``url`` and an SMTP relay at host:port."""
    return {
        **base,
        "KANAL_DATABASE_URL": url,
        "KANAL_SECRET_KEY": "test",
        "KANAL_SMTP_HOST": host,
        "KANAL_SMTP_PORT": str(port),
        "KANAL_SMTP_SECURITY": "none",
        "KANAL_SMTP_AUTH": "NONE",
        **extra,
    }
