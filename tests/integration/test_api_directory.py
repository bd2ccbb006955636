"""Branches (exactly one main), employees and contexts over HTTP."""

from typing import Any

from tests.conftest import Api


def _main_branches(api: Api) -> list[dict[str, Any]]:
    return [b for b in api.get("/v1/branches").json()["items"] if b["is_main"]]


def test_a_new_tenant_has_exactly_one_main_branch(api: Api) -> None:
    (main,) = _main_branches(api)
    assert main["trade_name"] == api.tenant.name


def test_making_another_branch_main_demotes_the_old_one(api: Api) -> None:
    (old,) = _main_branches(api)
    new = api.post(
        "/v1/branches",
        json={"trade_name": "FixIT Brno", "is_main": True, "phone": "+420 542 123 456"},
    ).json()
    assert [b["id"] for b in _main_branches(api)] == [new["id"]]
    assert new["phone"] == "+420542123456"
    back = api.patch(f"/v1/branches/{old['id']}", json={"is_main": True})
    assert back.status_code == 200
    assert [b["id"] for b in _main_branches(api)] == [old["id"]]


def test_the_main_branch_cannot_be_unset_or_deleted(api: Api) -> None:
    (main,) = _main_branches(api)
    response = api.patch(f"/v1/branches/{main['id']}", json={"is_main": False})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["code"] == "main_branch_required"
    response = api.delete(f"/v1/branches/{main['id']}")
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["code"] == "branch_is_main"
    assert [b["id"] for b in _main_branches(api)] == [main["id"]]


def test_a_branch_sync_without_is_main_keeps_the_main_branch(api: Api) -> None:
    (main,) = _main_branches(api)
    api.patch(f"/v1/branches/{main['id']}", json={"external_id": "hq"})
    response = api.put("/v1/branches/by-external-id/hq", json={"trade_name": "Centrala"})
    assert response.status_code == 200
    assert response.json()["is_main"] is True
    assert response.json()["trade_name"] == "Centrala"


def test_other_branches_can_be_deleted(api: Api) -> None:
    branch = api.post("/v1/branches", json={"trade_name": "Filia"}).json()
    assert branch["is_main"] is False
    assert api.delete(f"/v1/branches/{branch['id']}").status_code == 204
    assert len(api.get("/v1/branches").json()["items"]) == 1


def test_branch_contact_data_is_validated(api: Api) -> None:
    response = api.post(
        "/v1/branches", json={"trade_name": "Filia", "email": "nie-mail", "phone": "12"}
    )
    assert response.status_code == 422
    codes = {(f["field"], f["code"]) for f in response.json()["error"]["fields"]}
    assert codes == {("email", "email_invalid"), ("phone", "phone_invalid")}


def test_employees(api: Api) -> None:
    (main,) = _main_branches(api)
    created = api.post(
        "/v1/employees",
        json={
            "name": "Ewa Mazur",
            "role": "executor",
            "email": "ewa@fixit.example",
            "phone": "601 000 111",
            "branch_id": main["id"],
        },
    )
    assert created.status_code == 201
    employee = created.json()
    assert (employee["role"], employee["phone"]) == ("executor", "+48601000111")
    synced = api.put(
        "/v1/employees/by-external-id/e-9", json={"name": "Marek Zając", "role": "manager"}
    )
    assert synced.status_code == 201
    assert api.post("/v1/employees", json={"name": "X", "role": "boss"}).status_code == 422
    assert len(api.get("/v1/employees").json()["items"]) == 2


def test_contexts_sync_with_assignees_and_a_snapshot(api: Api) -> None:
    client = api.post("/v1/clients", json={"name": "Anna Nowak"}).json()
    executor = api.post("/v1/employees", json={"name": "Ewa", "role": "executor"}).json()
    manager = api.post("/v1/employees", json={"name": "Marek", "role": "manager"}).json()
    body = {
        "kind": "order",
        "external_id": "ignored-path-wins",
        "number": "N/1001/2026",
        "status": "przyjęta",
        "client_id": client["id"],
        "assignees": [
            {"employee_id": executor["id"], "role": "executor"},
            {"employee_id": manager["id"], "role": "manager"},
        ],
        "data": {"device": "iPhone 13", "price_minor": 25000},
    }
    first = api.put("/v1/contexts/by-external-id/order/1001", json=body)
    assert first.status_code == 201, first.text
    context = first.json()
    assert (context["kind"], context["external_id"]) == ("order", "1001")
    assert {a["role"] for a in context["assignees"]} == {"executor", "manager"}
    body["status"] = "gotowa do odbioru"
    body["assignees"] = [{"employee_id": executor["id"], "role": "executor"}]
    second = api.put("/v1/contexts/by-external-id/order/1001", json=body)
    assert second.status_code == 200, second.text
    assert second.json()["id"] == context["id"]
    assert second.json()["status"] == "gotowa do odbioru"
    assert [a["employee_id"] for a in second.json()["assignees"]] == [executor["id"]]
    # the same external id may name a ticket too: kinds are separate namespaces
    ticket = api.put("/v1/contexts/by-external-id/ticket/1001", json=body)
    assert ticket.status_code == 201
    orders = api.get("/v1/contexts", params={"kind": "order"}).json()["items"]
    assert [c["id"] for c in orders] == [context["id"]]
    by_client = api.get("/v1/contexts", params={"client_id": client["id"]}).json()["items"]
    assert len(by_client) == 2


def test_duplicate_context_is_422(api: Api) -> None:
    body = {"kind": "ticket", "external_id": "T-1"}
    assert api.post("/v1/contexts", json=body).status_code == 201
    response = api.post("/v1/contexts", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["code"] == "external_id_taken"
    bad_kind = api.post("/v1/contexts", json={"kind": "invoice", "external_id": "1"})
    assert bad_kind.status_code == 422


def test_tenant_settings_are_validated(api: Api) -> None:
    response = api.patch(
        "/v1/tenant", json={"locale": "de", "timezone": "Mars/Base", "phone_region": "XX"}
    )
    assert response.status_code == 422
    codes = {f["code"] for f in response.json()["error"]["fields"]}
    assert codes == {"locale_unsupported", "timezone_unknown", "region_unknown"}
    response = api.patch(
        "/v1/tenant", json={"legal_name": "FixIT sp. z o.o.", "registry_number": "6762471234"}
    )
    assert response.json()["registry_number"] == "6762471234"
