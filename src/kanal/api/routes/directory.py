"""Partners, branches, employees, clients and contexts: the records a host application syncs."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from kanal.api.deps import Tenant, Uow
from kanal.api.routes.records import add_record_routes
from kanal.core.vocab import ContextKind
from kanal.services.branches import BranchIn, BranchView, branches
from kanal.services.clients import ClientIn, ClientView, clients, search_clients
from kanal.services.common import Page
from kanal.services.contexts import ContextIn, ContextView, contexts, list_contexts
from kanal.services.employees import EmployeeIn, EmployeeView, employees
from kanal.services.partners import PartnerIn, PartnerView, partners

Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=200)]

partner_routes = APIRouter(prefix="/v1/partners", tags=["partners"])
branch_routes = APIRouter(prefix="/v1/branches", tags=["branches"])
employee_routes = APIRouter(prefix="/v1/employees", tags=["employees"])
client_routes = APIRouter(prefix="/v1/clients", tags=["clients"])
context_routes = APIRouter(prefix="/v1/contexts", tags=["contexts"])


# List routes come first: "/by-external-id/…" must not be read as "/{record_id}".
@partner_routes.get("", response_model=Page[PartnerView], summary="List partners")
def list_partners(uow: Uow, cursor: Cursor = None, limit: Limit = 50) -> Any:
    return partners.list(uow, cursor, limit)


@branch_routes.get("", response_model=Page[BranchView], summary="List branches")
def list_branches(uow: Uow, cursor: Cursor = None, limit: Limit = 50) -> Any:
    return branches.list(uow, cursor, limit)


@employee_routes.get("", response_model=Page[EmployeeView], summary="List employees")
def list_employees(uow: Uow, cursor: Cursor = None, limit: Limit = 50) -> Any:
    return employees.list(uow, cursor, limit)


@client_routes.get("", response_model=Page[ClientView], summary="List or search clients")
def list_clients(
    tenant: Tenant,
    uow: Uow,
    q: Annotated[
        str | None,
        Query(
            max_length=200,
            description="Name, phone in any format ('601 234 567', '0048…') or email",
        ),
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    return search_clients(uow, tenant, q, cursor, limit)


@context_routes.get("", response_model=Page[ContextView], summary="List contexts")
def list_context_records(
    uow: Uow,
    kind: ContextKind | None = None,
    client_id: uuid.UUID | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    return list_contexts(uow, cursor, limit, kind, client_id)


@context_routes.put(
    "/by-external-id/{kind}/{external_id}",
    response_model=ContextView,
    summary="Create or replace a context by its kind and the host application's id",
)
def upsert_context(
    kind: ContextKind,
    external_id: str,
    data: ContextIn,
    tenant: Tenant,
    uow: Uow,
    response: Response,
) -> Any:
    values = data.model_copy(update={"kind": kind, "external_id": external_id})
    result, created = contexts.upsert(uow, tenant, values, kind=kind, external_id=external_id)
    response.status_code = 201 if created else 200
    return result


add_record_routes(partner_routes, partners, PartnerIn)
add_record_routes(branch_routes, branches, BranchIn)
add_record_routes(employee_routes, employees, EmployeeIn)
add_record_routes(client_routes, clients, ClientIn)
add_record_routes(context_routes, contexts, ContextIn, upsert_by_external_id=False)

routers = [partner_routes, branch_routes, employee_routes, client_routes, context_routes]
