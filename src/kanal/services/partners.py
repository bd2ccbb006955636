"""Partners: reseller scopes between the tenant and its branches (CIBS, seed 004)."""

import uuid
from datetime import datetime

from pydantic import Field
from sqlalchemy.orm import Session

from kanal.core.errors import Problem
from kanal.services.common import Schema, TenantInfo, View, external_id_problems
from kanal.services.records import Records
from kanal.store.models import Partner


class PartnerPatch(Schema):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    external_id: str | None = Field(default=None, min_length=1, max_length=100)


class PartnerIn(PartnerPatch):
    name: str = Field(min_length=1, max_length=200)


class PartnerView(View):
    id: uuid.UUID
    external_id: str | None
    name: str
    created_at: datetime
    updated_at: datetime


def _apply(
    session: Session, _tenant: TenantInfo, row: Partner, patch: PartnerPatch
) -> list[Problem]:
    for name, value in patch.model_dump(exclude_unset=True).items():
        if value is not None or name != "name":
            setattr(row, name, value)
    return external_id_problems(session, Partner, row.external_id, row.id)


partners = Records(Partner, PartnerView, PartnerPatch, "partner", _apply)
