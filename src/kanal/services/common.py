"""What every use case shares: the caller's tenant, pages, and the lookups that 404."""

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanal.core.errors import NotFound, Problem, ValidationFailed, invalid
from kanal.store.orm import TenantOwned

Row = TypeVar("Row", bound=TenantOwned)
Item = TypeVar("Item")

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class TenantInfo:
    """Who is calling: the tenant behind an API key, with what rules need of it."""

    id: uuid.UUID
    name: str
    locale: str
    timezone: str
    phone_region: str


class Schema(BaseModel):
    """Base of request bodies: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class View(BaseModel):
    """Base of what use cases return: read from ORM rows."""

    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    next_cursor: str | None = None


def get_or_404(session: Session, model: type[Row], row_id: uuid.UUID, resource: str) -> Row:
    """The row of this tenant with that id (the unit of work hides other tenants' rows)."""
    row = session.scalars(select(model).where(model.id == row_id)).one_or_none()
    if row is None:
        raise NotFound(resource=resource)
    return row


def require_ref(
    session: Session, model: type[Row], row_id: uuid.UUID | None, code: str, field: str
) -> list[Problem]:
    """A problem if a referenced row (branch, employee …) does not exist for this tenant."""
    if row_id is None:
        return []
    found = session.scalars(select(model.id).where(model.id == row_id)).one_or_none()
    return [] if found else [Problem(code, field)]


def external_id_problems(
    session: Session,
    model: type[Row],
    external_id: str | None,
    own_id: uuid.UUID | None = None,
    **scope: object,
) -> list[Problem]:
    """A problem if another row of this tenant already has the external id."""
    if not external_id:
        return []
    stmt = select(model.id).where(model.external_id == external_id)  # type: ignore[attr-defined]
    for column, value in scope.items():
        stmt = stmt.where(getattr(model, column) == value)
    other = session.scalars(stmt).first()
    if other is not None and other != own_id:
        return [Problem("external_id_taken", "external_id", {"value": external_id})]
    return []


def raise_if(problems: list[Problem]) -> None:
    if problems:
        raise ValidationFailed(problems)


def encode_cursor(row_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(row_id.bytes).decode().rstrip("=")


def decode_cursor(cursor: str) -> uuid.UUID:
    try:
        return uuid.UUID(bytes=base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error) as exc:
        raise invalid("cursor_invalid", "cursor") from exc


def paginate(
    session: Session, stmt: Select[Row], model: type[Row], cursor: str | None, limit: int
) -> tuple[list[Row], str | None]:
    """Keyset pagination by id (ids are time-ordered, so pages follow creation order)."""
    limit = max(1, min(limit, MAX_PAGE))
    if cursor:
        stmt = stmt.where(model.id > decode_cursor(cursor))
    rows = list(session.scalars(stmt.order_by(model.id).limit(limit + 1)))
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].id)
    return rows, None


def commit_or_conflict(session: Session, external_id: str | None) -> None:
    """Commit; a unique-key race lost to a concurrent writer is the same 422 as a duplicate."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise invalid("external_id_taken", "external_id", value=external_id) from exc
