"""A tenant's pool of sender numbers (seed 001), kept by the service's staff.

Each client is given one number of the pool for good by compose (one thread on their
phone, and a reply can be matched to them). Staff add numbers and take them out of
use; a number is never deleted, because its clients' replies may still arrive on it.
Compose moves a client whose number left the pool to another one.

The same number may be in several tenants' pools: the service does not rent a number
per tenant (seed 001), and replies are matched by (number, client), not by number.
"""

import uuid
from datetime import datetime

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kanal.core.errors import NotFound, Problem
from kanal.core.phones import parse_phone
from kanal.core.sms import validate_sender_number
from kanal.services.common import Schema, View, raise_if
from kanal.store.models import Tenant
from kanal.store.sms import ClientSender, SenderNumber
from kanal.store.uow import UnitOfWork, UnitOfWorkFactory

RESOURCE = "sender number"


class NumberIn(Schema):
    number: str = Field(max_length=40, description='E.164: "+" and the country code')


class NumberView(View):
    id: uuid.UUID
    e164: str
    active: bool
    clients: int = Field(description="Clients whose SMS come from this number")
    created_at: datetime


def _views(session: Session, rows: list[SenderNumber]) -> list[NumberView]:
    counts: dict[uuid.UUID, int] = {
        number_id: clients
        for number_id, clients in session.execute(
            select(ClientSender.number_id, func.count())
            .where(ClientSender.number_id.in_([r.id for r in rows]))
            .group_by(ClientSender.number_id)
        )
    }
    return [
        NumberView(
            id=r.id,
            e164=r.e164,
            active=r.active,
            clients=counts.get(r.id, 0),
            created_at=r.created_at,
        )
        for r in rows
    ]


def list_numbers(uow: UnitOfWork) -> list[NumberView]:
    """The pool, active numbers first, with how many clients each one serves."""
    with uow:
        rows = list(
            uow.session.scalars(
                select(SenderNumber).order_by(SenderNumber.active.desc(), SenderNumber.e164)
            )
        )
        return _views(uow.session, rows)


def _tenant_uow(uows: UnitOfWorkFactory, tenant_id: uuid.UUID) -> UnitOfWork:
    with uows.system() as uow:
        if uow.session.get(Tenant, tenant_id) is None:
            raise NotFound(resource="tenant")
    return uows.for_tenant(tenant_id)


def staff_list(uows: UnitOfWorkFactory, tenant_id: uuid.UUID) -> list[NumberView]:
    return list_numbers(_tenant_uow(uows, tenant_id))


def e164_of(number: str) -> str:
    """The E.164 form of a sender number, or ValidationFailed with the checker's codes."""
    raise_if([Problem(p.code, "number", p.params) for p in validate_sender_number(number)])
    return parse_phone(number, "ZZ", "number").e164  # "+…" needs no region


def _put(uow: UnitOfWork, e164: str) -> tuple[NumberView, bool]:
    with uow:
        session = uow.session
        row = session.scalars(select(SenderNumber).where(SenderNumber.e164 == e164)).one_or_none()
        created = row is None
        if row is None:
            row = SenderNumber(e164=e164, active=True)
            session.add(row)
        row.active = True
        session.flush()
        view = _views(session, [row])[0]
        uow.commit()
        return view, created


def add_number(
    uows: UnitOfWorkFactory, tenant_id: uuid.UUID, data: NumberIn
) -> tuple[NumberView, bool]:
    """Put a number into the tenant's pool. Returns (the number, whether it is new).

    Adding a number that is already there (in use or not) puts it back in use.
    """
    e164 = e164_of(data.number)
    uow = _tenant_uow(uows, tenant_id)
    try:
        return _put(uow, e164)
    except IntegrityError:  # added at the same moment by someone else: it is there now
        return _put(uow, e164)


def deactivate_number(
    uows: UnitOfWorkFactory, tenant_id: uuid.UUID, number_id: uuid.UUID
) -> NumberView:
    """Take a number out of use: new clients do not get it, its clients get another one."""
    with _tenant_uow(uows, tenant_id) as uow:
        row = uow.session.scalars(
            select(SenderNumber).where(SenderNumber.id == number_id)
        ).one_or_none()
        if row is None:
            raise NotFound(resource=RESOURCE)
        row.active = False
        uow.session.flush()
        view = _views(uow.session, [row])[0]
        uow.commit()
        return view
