"""Composition: builds settings, the engine, the unit-of-work factory and the secret box."""

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kanal.config import Settings, load_settings
from kanal.core.secretbox import SecretBox
from kanal.store.db import make_engine
from kanal.store.uow import UnitOfWorkFactory


@dataclass
class Container:
    """Everything an entry point needs, built from settings."""

    settings: Settings
    uows: UnitOfWorkFactory
    secrets: SecretBox
    # Called after a transaction queued deliveries: wakes an in-process worker at once.
    wakeups: list[Callable[[], None]] = field(default_factory=list)

    def wake_workers(self) -> None:
        for wake in self.wakeups:
            wake()

    def close(self) -> None:
        self.uows.engine.dispose()


def _secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.secret_key_file)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def build(settings: Settings | None = None) -> Container:
    settings = settings or load_settings()
    engine = make_engine(settings.database_url, echo=settings.db_echo)
    return Container(
        settings=settings,
        uows=UnitOfWorkFactory(engine),
        secrets=SecretBox(_secret_key(settings)),
    )
