"""A realistic demo repair shop: what `make run` shows a new user on a fresh machine."""

import random

from kanal.core.text import fold
from kanal.core.vocab import ClientKind, ContextKind, EmployeeRole
from kanal.services.branches import BranchPatch, branches
from kanal.services.clients import ClientIn, EmailIn, PhoneIn, clients
from kanal.services.common import TenantInfo
from kanal.services.contexts import AssigneeIn, ContextIn, contexts
from kanal.services.employees import EmployeeIn, employees
from kanal.services.tenants import NewApiKey, TenantIn, create_api_key, create_tenant
from kanal.services.wallet import TopUpIn, top_up
from kanal.store.sms import SenderNumber
from kanal.store.uow import UnitOfWorkFactory

DEMO_NAME = "FixIT Serwis (demo)"
DEMO_NUMBERS = ("+48500100200", "+48500100201")

_POLISH = [
    ("Anna", "Nowak"), ("Piotr", "Wiśniewski"), ("Katarzyna", "Wójcik"), ("Łukasz", "Kowalczyk"),
    ("Małgorzata", "Kamińska"), ("Grzegorz", "Lewandowski"), ("Agnieszka", "Zielińska"),
    ("Paweł", "Szymański"), ("Joanna", "Woźniak"), ("Michał", "Dąbrowski"), ("Żaneta", "Kozłowska"),
    ("Tomasz", "Jankowski"),
]  # fmt: skip
_CZECH = [
    ("Jiří", "Novák"), ("Petra", "Svobodová"), ("Tomáš", "Dvořák"), ("Lucie", "Černá"),
    ("Martin", "Procházka"), ("Kateřina", "Kučerová"), ("Ondřej", "Veselý"), ("Tereza", "Horáková"),
]  # fmt: skip
_PL_MOBILE = ["501", "512", "533", "601", "604", "660", "691", "721", "730", "781", "790", "885"]
_CZ_MOBILE = ["602", "603", "604", "702", "720", "731", "739", "774"]
_STATUSES = ["przyjęta", "diagnoza", "w naprawie", "czeka na części", "gotowa do odbioru", "wydana"]
_DEVICES = ["Lenovo ThinkPad T14", "iPhone 13", "Samsung Galaxy S22", "Dell XPS 13", "iPad Air"]


def _ascii(text: str) -> str:
    return fold(text).replace(" ", ".")


def seed_demo(uows: UnitOfWorkFactory, seed: int = 7) -> tuple[TenantInfo, NewApiKey]:
    """Create the demo tenant with branches, staff, 20 clients and their orders."""
    rng = random.Random(seed)
    view = create_tenant(
        uows,
        TenantIn(
            name=DEMO_NAME,
            legal_name="FixIT Serwis sp. z o.o.",
            registry_number="6762471234",
            billing_street="ul. Długa 12",
            billing_postal_code="31-147",
            billing_city="Kraków",
            billing_country="PL",
            billing_email="faktury@fixit.example",
            billing_phone="+48 12 345 67 89",
        ),
    )
    tenant = TenantInfo(view.id, view.name, view.locale, view.timezone, view.phone_region)
    main = branches.list(uows.for_tenant(tenant.id), None, 1).items[0]
    branches.update(
        uows.for_tenant(tenant.id),
        tenant,
        main.id,
        BranchPatch(
            trade_name="FixIT Kraków",
            street="ul. Długa 12",
            postal_code="31-147",
            city="Kraków",
            country="PL",
            email="krakow@fixit.example",
            phone="12 345 67 89",
        ),
    )
    brno = branches.create(
        uows.for_tenant(tenant.id),
        tenant,
        BranchPatch(
            trade_name="FixIT Brno",
            external_id="brno",
            street="Masarykova 5",
            postal_code="602 00",
            city="Brno",
            country="CZ",
            email="brno@fixit.example",
            phone="+420 542 123 456",
        ),
    )
    staff = [
        ("Marek Zając", EmployeeRole.MANAGER, main.id),
        ("Ewa Mazur", EmployeeRole.EXECUTOR, main.id),
        ("Adam Krawczyk", EmployeeRole.EXECUTOR, main.id),
        ("Jana Malá", EmployeeRole.EXECUTOR, brno.id),
    ]
    staff_ids = []
    for index, (name, role, branch_id) in enumerate(staff):
        employee = employees.create(
            uows.for_tenant(tenant.id),
            tenant,
            EmployeeIn(
                name=name,
                role=role,
                branch_id=branch_id,
                external_id=f"emp-{index + 1}",
                email=f"{_ascii(name)}@fixit.example",
            ),
        )
        staff_ids.append(employee.id)

    people = [(p, "PL", main.id) for p in _POLISH] + [(c, "CZ", brno.id) for c in _CZECH]
    order_number = 1000
    for index, ((first, last), country, branch_id) in enumerate(people):
        prefix = rng.choice(_PL_MOBILE if country == "PL" else _CZ_MOBILE)
        number = f"{'+48' if country == 'PL' else '+420'} {prefix} {rng.randint(100, 999)} "
        number += f"{rng.randint(100, 999)}"
        client = clients.create(
            uows.for_tenant(tenant.id),
            tenant,
            ClientIn(
                name=f"{first} {last}",
                kind=ClientKind.PERSON,
                external_id=f"cli-{index + 1:03d}",
                locale="cs" if country == "CZ" else "pl",
                home_branch_id=branch_id,
                phones=[PhoneIn(number=number, label="komórka")],
                emails=[EmailIn(address=f"{_ascii(first)}.{_ascii(last)}@example.com")]
                if index % 4 != 3
                else [],
                portal_active=index % 3 == 0,
                marketing_consent=index % 5 == 0,
                marketing_consent_source="formularz przyjęcia" if index % 5 == 0 else None,
            ),
        )
        for _ in range(1 + index % 2):
            order_number += 1
            contexts.create(
                uows.for_tenant(tenant.id),
                tenant,
                ContextIn(
                    kind=ContextKind.ORDER,
                    external_id=f"ord-{order_number}",
                    number=f"N/{order_number}/2026",
                    status=rng.choice(_STATUSES),
                    client_id=client.id,
                    branch_id=branch_id,
                    assignees=[AssigneeIn(employee_id=rng.choice(staff_ids[1:]))],
                    data={"device": rng.choice(_DEVICES), "price_minor": rng.randint(5, 90) * 1000},
                ),
            )
    # Money for SMS and two numbers clients get one each of (their replies can come back).
    top_up(uows, tenant.id, TopUpIn(amount_minor=100_00, reference="demo-welcome"))
    with uows.for_tenant(tenant.id) as uow:
        for e164 in DEMO_NUMBERS:
            uow.session.add(SenderNumber(tenant_id=tenant.id, e164=e164))
        uow.commit()
    key = create_api_key(uows, tenant.id, "demo")
    return tenant, key
