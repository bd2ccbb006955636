"""Settings from environment variables (KANAL_*) and an optional ``kanal.toml``.

Nothing is read at import time: :func:`load_settings` is called by bootstrap.
"""

import os
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DATABASE_URL = "sqlite:///var/kanal.db"


class Settings(BaseSettings):
    """Everything the process needs to know about its surroundings."""

    model_config = SettingsConfigDict(env_prefix="KANAL_", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite:///path or postgresql://user@host/db",
    )
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"
    default_locale: str = "pl"
    default_region: str = "PL"
    default_timezone: str = "Europe/Warsaw"
    db_echo: bool = False

    # Email: the tenants' mailboxes live at <prefix>@mail_domain.
    mail_domain: str = "mail.kanal.localhost"
    # The service's own SMTP relay, used by tenants without their own. Unset: the dev
    # outbox captures mail instead and shows it at /dev/outbox.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_auth: str = "PLAIN"
    smtp_helo_name: str | None = None
    smtp_validate_certs: bool = True
    # With no relay, capture email in the dev outbox (make run). Off in production: then
    # email without a relay fails with smtp_config instead of vanishing into a capture.
    dev_outbox: bool = True
    # Encrypts secrets at rest (tenant SMTP passwords). Unset: a key file under var/.
    secret_key: str | None = None
    secret_key_file: str = "var/secret.key"

    # SMS. Gateways by name, each {"kind": "smsapi"|"twilio"|"generic", ...its settings}
    # (KANAL_SMS_GATEWAYS as JSON, or [sms_gateways.<name>] tables in kanal.toml).
    # "dev" is built in: the dev capture, shown in /dev/outbox beside email.
    sms_gateways: dict[str, dict[str, Any]] = Field(default_factory=dict)
    sms_primary: str = "dev"
    sms_secondary: str | None = None
    # Sent from when a tenant has neither pool numbers nor an approved name (the brand).
    sms_default_sender: str = "KANAL"
    # Failover: this many errors within the window move traffic to the other gateway
    # for the cool-down, then the primary is tried again.
    sms_failover_errors: int = 5
    sms_failover_window_seconds: float = 60.0
    sms_failover_cooldown_seconds: float = 30.0
    # How providers reach us (delivery-report callbacks). Unset: http://host:port.
    public_url: str | None = None
    # The service's staff API (/v1/ops: top-ups, sender-name decisions). Unset: disabled.
    operator_token: str | None = None

    # Workers
    in_process_worker: bool = True  # `kanal serve` runs one worker in its own process
    worker_batch: int = 200
    worker_concurrency: int = 64
    lease_seconds: float = 120.0
    max_attempts: int = 8
    retry_base_seconds: float = 5.0
    retry_cap_seconds: float = 3600.0
    poll_seconds: float = 1.0

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit arguments win, then the environment, then kanal.toml.
        toml_path = Path(os.environ.get("KANAL_CONFIG", "kanal.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )


def load_settings(**overrides: object) -> Settings:
    """Build settings now, from overrides, the environment and kanal.toml."""
    return Settings(**overrides)  # type: ignore[arg-type]
