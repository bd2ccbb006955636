"""Branches: the places clients see. Exactly one is the main branch (seed 000, DSA)."""

import uuid
from datetime import datetime

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kanal.core.emails import normalise_email
from kanal.core.errors import Problem, ValidationFailed, invalid
from kanal.core.phones import parse_phone
from kanal.services.common import Schema, TenantInfo, View, external_id_problems, require_ref
from kanal.services.records import Records
from kanal.store.models import Branch, Partner


class BranchPatch(Schema):
    """Fields to change; what is left out stays as it is."""

    trade_name: str | None = Field(default=None, min_length=1, max_length=200)
    external_id: str | None = Field(default=None, min_length=1, max_length=100)
    partner_id: uuid.UUID | None = None
    street: str | None = Field(default=None, max_length=200)
    postal_code: str | None = Field(default=None, max_length=16)
    city: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, min_length=2, max_length=2)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    is_main: bool | None = None


class BranchIn(BranchPatch):
    """A new branch; the first one becomes the main branch unless another is named."""

    trade_name: str = Field(min_length=1, max_length=200)


class BranchView(View):
    id: uuid.UUID
    external_id: str | None
    partner_id: uuid.UUID | None
    trade_name: str
    street: str | None
    postal_code: str | None
    city: str | None
    country: str | None
    email: str | None
    phone: str | None
    is_main: bool
    created_at: datetime
    updated_at: datetime


def _apply(session: Session, tenant: TenantInfo, row: Branch, patch: BranchPatch) -> list[Problem]:
    """Copy validated values onto the row; collect every problem instead of stopping at one."""
    problems: list[Problem] = []
    values = patch.model_dump(exclude_unset=True)
    for name, value in values.items():
        if name == "is_main" or (name == "trade_name" and value is None):
            continue
        try:
            if name == "email" and isinstance(value, str):
                value = normalise_email(value, "email")
            elif name == "phone" and isinstance(value, str):
                value = parse_phone(value, tenant.phone_region, "phone").e164
            elif name == "country" and isinstance(value, str):
                value = value.upper()
        except ValidationFailed as exc:
            problems.extend(exc.problems)
            continue
        setattr(row, name, value)
    problems += require_ref(session, Partner, row.partner_id, "partner_unknown", "partner_id")
    problems += external_id_problems(session, Branch, row.external_id, row.id)
    wants_main = values.get("is_main")
    if wants_main is False and row.is_main:
        problems.append(Problem("main_branch_required", "is_main"))
    elif not problems and (wants_main or _main_branch(session) is None):
        _make_main(session, row)
    return problems


def _main_branch(session: Session) -> uuid.UUID | None:
    return session.scalars(select(Branch.id).where(Branch.is_main)).first()


def _make_main(session: Session, row: Branch) -> None:
    """Demote the current main branch first: the unique index allows one at a time."""
    for other in session.scalars(select(Branch).where(Branch.is_main, Branch.id != row.id)):
        other.is_main = False
    session.flush()
    row.is_main = True


def _refuse_main(_session: Session, row: Branch) -> None:
    if row.is_main:
        raise invalid("branch_is_main", "id")


branches = Records(Branch, BranchView, BranchPatch, "branch", _apply, before_delete=_refuse_main)
