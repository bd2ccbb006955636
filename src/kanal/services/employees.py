"""Employees: staff whose contact data stays private (seed 000)."""

import uuid
from datetime import datetime

from pydantic import Field
from sqlalchemy.orm import Session

from kanal.core.emails import normalise_email
from kanal.core.errors import Problem, ValidationFailed
from kanal.core.phones import parse_phone
from kanal.core.vocab import EmployeeRole
from kanal.services.common import Schema, TenantInfo, View, external_id_problems, require_ref
from kanal.services.records import Records
from kanal.store.models import Branch, Employee


class EmployeePatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    external_id: str | None = Field(default=None, min_length=1, max_length=100)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    role: EmployeeRole | None = None
    branch_id: uuid.UUID | None = None


class EmployeeIn(EmployeePatch):
    name: str = Field(min_length=1, max_length=200)
    role: EmployeeRole = EmployeeRole.OTHER


class EmployeeView(View):
    id: uuid.UUID
    external_id: str | None
    name: str
    email: str | None
    phone: str | None
    role: str
    branch_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


def _apply(
    session: Session, tenant: TenantInfo, row: Employee, patch: EmployeePatch
) -> list[Problem]:
    problems: list[Problem] = []
    for name, value in patch.model_dump(exclude_unset=True).items():
        if value is None and name in ("name", "role"):
            continue
        try:
            if name == "email" and value is not None:
                value = normalise_email(value, "email")
            elif name == "phone" and value is not None:
                value = parse_phone(value, tenant.phone_region, "phone").e164
        except ValidationFailed as exc:
            problems += exc.problems
            continue
        setattr(row, name, value)
    problems += require_ref(session, Branch, row.branch_id, "branch_unknown", "branch_id")
    problems += external_id_problems(session, Employee, row.external_id, row.id)
    return problems


employees = Records(Employee, EmployeeView, EmployeePatch, "employee", _apply)
