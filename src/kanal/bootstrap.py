"""Composition: builds settings, the engine and the unit-of-work factory, once per process."""

from dataclasses import dataclass

from kanal.config import Settings, load_settings
from kanal.store.db import make_engine
from kanal.store.uow import UnitOfWorkFactory


@dataclass(frozen=True)
class Container:
    """Everything an entry point needs, built from settings."""

    settings: Settings
    uows: UnitOfWorkFactory

    def close(self) -> None:
        self.uows.engine.dispose()


def build(settings: Settings | None = None) -> Container:
    settings = settings or load_settings()
    engine = make_engine(settings.database_url, echo=settings.db_echo)
    return Container(settings=settings, uows=UnitOfWorkFactory(engine))
