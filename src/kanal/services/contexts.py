"""Contexts: the host application's orders, tickets, tasks, documents and mail items.

A message sent "from an order" remembers its context (seed 001); the context's
snapshot of fields feeds the templates of automatic notifications.
"""

import uuid
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import Select
from sqlalchemy.orm import Session

from kanal.core.errors import Problem
from kanal.core.vocab import ContextKind, EmployeeRole
from kanal.services.common import Page, Schema, TenantInfo, View, external_id_problems, require_ref
from kanal.services.records import Records
from kanal.store.models import Branch, Client, Context, ContextAssignee, Employee
from kanal.store.uow import UnitOfWork


class AssigneeIn(Schema):
    employee_id: uuid.UUID
    role: EmployeeRole = EmployeeRole.EXECUTOR


class ContextPatch(Schema):
    kind: ContextKind | None = None
    external_id: str | None = Field(default=None, min_length=1, max_length=100)
    number: str | None = Field(default=None, max_length=100)
    status: str | None = Field(default=None, max_length=100)
    client_id: uuid.UUID | None = None
    branch_id: uuid.UUID | None = None
    assignees: list[AssigneeIn] | None = Field(default=None, max_length=50)
    data: dict[str, Any] | None = None


class ContextIn(ContextPatch):
    kind: ContextKind
    external_id: str = Field(min_length=1, max_length=100)
    assignees: list[AssigneeIn] = Field(default_factory=list, max_length=50)
    data: dict[str, Any] = Field(default_factory=dict)


class AssigneeView(View):
    employee_id: uuid.UUID
    role: str


class ContextView(View):
    id: uuid.UUID
    kind: str
    external_id: str
    number: str | None
    status: str | None
    client_id: uuid.UUID | None
    branch_id: uuid.UUID | None
    assignees: list[AssigneeView]
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime


def _apply(
    session: Session, tenant: TenantInfo, row: Context, patch: ContextPatch
) -> list[Problem]:
    values = patch.model_dump(exclude_unset=True, exclude={"assignees"})
    for name, value in values.items():
        if value is not None or name not in ("kind", "external_id", "data"):
            setattr(row, name, value)
    problems = require_ref(session, Client, row.client_id, "client_unknown", "client_id")
    problems += require_ref(session, Branch, row.branch_id, "branch_unknown", "branch_id")
    if patch.assignees is not None:
        kept = {a.employee_id: a for a in row.assignees}  # reuse rows: the pair is unique
        assigned: dict[uuid.UUID, ContextAssignee] = {}
        for index, item in enumerate(patch.assignees):
            field = f"assignees[{index}].employee_id"
            problems += require_ref(session, Employee, item.employee_id, "employee_unknown", field)
            assignee = kept.get(item.employee_id) or ContextAssignee(
                tenant_id=tenant.id, employee_id=item.employee_id
            )
            assignee.role = item.role
            assigned[item.employee_id] = assignee
        row.assignees = list(assigned.values())
    problems += external_id_problems(session, Context, row.external_id, row.id, kind=row.kind)
    return problems


contexts = Records(Context, ContextView, ContextPatch, "context", _apply)


def list_contexts(
    uow: UnitOfWork,
    cursor: str | None,
    limit: int,
    kind: ContextKind | None = None,
    client_id: uuid.UUID | None = None,
) -> Page[ContextView]:
    def narrow(stmt: Select[Context]) -> Select[Context]:
        if kind is not None:
            stmt = stmt.where(Context.kind == kind)
        if client_id is not None:
            stmt = stmt.where(Context.client_id == client_id)
        return stmt

    return contexts.list(uow, cursor, limit, narrow)
