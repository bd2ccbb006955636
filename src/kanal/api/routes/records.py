"""The same five routes for every record type a host application syncs.

POST /v1/{things}, GET|PATCH|DELETE /v1/{things}/{id} and
PUT /v1/{things}/by-external-id/{external_id} (create or replace: 201 or 200).
"""

import uuid
from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from kanal.api.deps import Tenant, Uow
from kanal.services.records import Records


def add_record_routes(
    router: APIRouter,
    records: Records[Any, Any, Any],
    create_model: type[BaseModel],
    *,
    upsert_by_external_id: bool = True,
) -> None:
    name = records.resource
    view = records.view
    patch_model = records.patch

    @router.post("", status_code=201, response_model=view, summary=f"Create a {name}")
    def create(data: create_model, tenant: Tenant, uow: Uow) -> Any:  # type: ignore[valid-type]
        return records.create(uow, tenant, data)

    @router.get("/{record_id}", response_model=view, summary=f"Get a {name}")
    def get(record_id: uuid.UUID, uow: Uow) -> Any:
        return records.get(uow, record_id)

    @router.patch("/{record_id}", response_model=view, summary=f"Change a {name}")
    def update(record_id: uuid.UUID, patch: patch_model, tenant: Tenant, uow: Uow) -> Any:  # type: ignore[valid-type]
        return records.update(uow, tenant, record_id, patch)

    @router.delete("/{record_id}", status_code=204, summary=f"Delete a {name}")
    def delete(record_id: uuid.UUID, uow: Uow) -> Response:
        records.delete(uow, record_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    if not upsert_by_external_id:
        return

    @router.put(
        "/by-external-id/{external_id}",
        response_model=view,
        summary=f"Create or replace a {name} by the host application's id",
    )
    def upsert(
        external_id: str,
        data: create_model,  # type: ignore[valid-type]
        tenant: Tenant,
        uow: Uow,
        response: Response,
    ) -> Any:
        values = data.model_copy(update={"external_id": external_id})  # type: ignore[attr-defined]
        result, created = records.upsert(uow, tenant, values, external_id=external_id)
        response.status_code = 201 if created else 200
        return result
