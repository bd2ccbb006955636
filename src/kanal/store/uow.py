"""The unit of work: one transaction, scoped to one tenant.

A session opened for a tenant adds ``tenant_id = :tenant`` to every ORM select,
update and delete of a tenant-owned table, and refuses to flush a row of another
tenant. Repositories never commit; the service that owns the use case does.
"""

import threading
import uuid
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Self

from sqlalchemy import Engine, event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker, with_loader_criteria

from kanal.store.orm import TenantOwned


class CrossTenantWrite(RuntimeError):
    """A row of one tenant was about to be written in another tenant's unit of work."""


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(engine, expire_on_commit=False)
    event.listen(factory, "do_orm_execute", _scope_to_tenant)
    event.listen(factory, "before_flush", _check_tenant_of_new_rows)
    return factory


def _scope_to_tenant(state: ORMExecuteState) -> None:
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None or state.is_column_load or state.is_relationship_load:
        return
    if state.is_select or state.is_update or state.is_delete:
        state.statement = state.statement.options(
            with_loader_criteria(
                TenantOwned,
                lambda cls: cls.tenant_id == tenant_id,
                include_aliases=True,
            )
        )


def _check_tenant_of_new_rows(session: Session, _context: object, _instances: object) -> None:
    tenant_id = session.info.get("tenant_id")
    if tenant_id is None:
        return
    for obj in [*session.new, *session.dirty]:
        if isinstance(obj, TenantOwned):
            if obj.tenant_id is None:
                obj.tenant_id = tenant_id
            elif obj.tenant_id != tenant_id:
                raise CrossTenantWrite(f"{type(obj).__name__} of tenant {obj.tenant_id}")


class UnitOfWork:
    """``with uow: …; uow.commit()`` — rolls back whatever was not committed."""

    session: Session

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        tenant_id: uuid.UUID | None,
        lock: AbstractContextManager[object] | None = None,
    ) -> None:
        self._session_factory = session_factory
        self.tenant_id = tenant_id
        self._lock = lock or nullcontext()

    def __enter__(self) -> Self:
        self._lock.__enter__()
        self.session = self._session_factory()
        self.session.info["tenant_id"] = self.tenant_id
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
            self.session.close()
        finally:
            self._lock.__exit__(exc_type, exc, tb)

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def flush(self) -> None:
        self.session.flush()


class UnitOfWorkFactory:
    """Opens units of work on one engine: ``uows.for_tenant(id)`` or ``uows.system()``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._session_factory = make_session_factory(engine)
        # SQLite has one writer at a time and makes waiting threads sleep and poll; queueing
        # them on a lock in this process instead keeps throughput up under concurrency.
        self._lock = threading.RLock() if engine.dialect.name == "sqlite" else None

    def for_tenant(self, tenant_id: uuid.UUID) -> UnitOfWork:
        return UnitOfWork(self._session_factory, tenant_id, self._lock)

    def system(self) -> UnitOfWork:
        """Unscoped: for creating tenants and resolving API keys, nothing else."""
        return UnitOfWork(self._session_factory, None, self._lock)
