"""Create, read, update, upsert, list and delete for the records a host application syncs.

Each record type (branch, client, employee, context) supplies its schemas and an
``apply`` function that validates input and copies it onto a row, returning every
problem found; this module supplies the transactions around it.
"""

import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from kanal.core.errors import Problem, ValidationFailed
from kanal.services.common import (
    Page,
    TenantInfo,
    commit_or_conflict,
    get_or_404,
    paginate,
    raise_if,
)
from kanal.store.orm import TenantOwned
from kanal.store.uow import UnitOfWork

Row = TypeVar("Row", bound=TenantOwned)
P = TypeVar("P", bound=BaseModel)
V = TypeVar("V", bound=BaseModel)

Apply = Callable[[Session, TenantInfo, Row, P], list[Problem]]
Hook = Callable[[Session, Row], None]


def _nothing(_session: Session, _row: object) -> None:
    return None


class Records(Generic[Row, P, V]):
    """The use cases of one record type, each one transaction."""

    def __init__(
        self,
        model: type[Row],
        view: type[V],
        patch: type[P],
        resource: str,
        apply: Apply[Row, P],
        *,
        after_write: Hook[Row] = _nothing,
        before_delete: Hook[Row] = _nothing,
    ) -> None:
        self.model, self.view, self.patch, self.resource = model, view, patch, resource
        self.apply, self.after_write, self.before_delete = apply, after_write, before_delete

    def create(self, uow: UnitOfWork, tenant: TenantInfo, data: P) -> V:
        with uow:
            row = self.model()
            row.tenant_id = tenant.id
            with uow.session.no_autoflush:  # check uniqueness before the row is written
                raise_if(self.apply(uow.session, tenant, row, data))
            uow.session.add(row)
            self.after_write(uow.session, row)
            commit_or_conflict(uow.session, getattr(row, "external_id", None))
            return self.view.model_validate(row)

    def update(self, uow: UnitOfWork, tenant: TenantInfo, row_id: uuid.UUID, patch: P) -> V:
        with uow:
            row = get_or_404(uow.session, self.model, row_id, self.resource)
            with uow.session.no_autoflush:
                raise_if(self.apply(uow.session, tenant, row, patch))
            self.after_write(uow.session, row)
            commit_or_conflict(uow.session, getattr(row, "external_id", None))
            return self.view.model_validate(row)

    def upsert(
        self,
        uow: UnitOfWork,
        tenant: TenantInfo,
        data: P,
        **key: object,
    ) -> tuple[V, bool]:
        """Create, or replace every field of, the row the host knows by ``key``.

        ``key`` is the external id (and for contexts the kind) that ``data`` also carries.
        A create that loses a race to a concurrent one becomes the update.
        """
        stmt = select(self.model.id)
        for column, value in key.items():
            stmt = stmt.where(getattr(self.model, column) == value)

        def find() -> uuid.UUID | None:
            with uow:
                return uow.session.scalars(stmt).one_or_none()

        existing = find()
        if existing is None:
            try:
                return self.create(uow, tenant, data), True
            except ValidationFailed as exc:
                existing = find()
                if existing is None or not any(p.code == "external_id_taken" for p in exc.problems):
                    raise
        replace = self.patch.model_validate(data.model_dump())
        return self.update(uow, tenant, existing, replace), False

    def get(self, uow: UnitOfWork, row_id: uuid.UUID) -> V:
        with uow:
            return self.view.model_validate(
                get_or_404(uow.session, self.model, row_id, self.resource)
            )

    def list(
        self,
        uow: UnitOfWork,
        cursor: str | None,
        limit: int,
        narrow: Callable[[Select[Row]], Select[Row]] | None = None,
    ) -> Page[V]:
        with uow:
            stmt = select(self.model)
            if narrow is not None:
                stmt = narrow(stmt)
            rows, next_cursor = paginate(uow.session, stmt, self.model, cursor, limit)
            return Page[V](
                items=[self.view.model_validate(r) for r in rows], next_cursor=next_cursor
            )

    def delete(self, uow: UnitOfWork, row_id: uuid.UUID) -> None:
        with uow:
            row = get_or_404(uow.session, self.model, row_id, self.resource)
            self.before_delete(uow.session, row)
            uow.session.delete(row)
            uow.commit()
