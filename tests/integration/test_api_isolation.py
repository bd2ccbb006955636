"""A second tenant's key gets 404 on every resource of the first, on every route.

The table of routes comes from the application itself, so a new route is covered
the day it is added (or this test fails, asking for a body to send to it).
"""

import base64
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api

# For every resource: how to create one, and a valid body to change it with.
RESOURCES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "/v1/clients": (
        {"name": "Anna Nowak", "external_id": "x-1", "phones": [{"number": "601234567"}]},
        {"name": "Przejęta"},
    ),
    "/v1/partners": ({"name": "Partner", "external_id": "x-1"}, {"name": "Przejęty"}),
    "/v1/branches": ({"trade_name": "Filia", "external_id": "x-1"}, {"trade_name": "Przejęta"}),
    "/v1/employees": ({"name": "Ewa Mazur", "external_id": "x-1"}, {"name": "Przejęta"}),
    "/v1/contexts": ({"kind": "order", "external_id": "x-1", "number": "N/1"}, {"status": "x"}),
}


def _id_routes(
    client: TestClient, param: str = r"\{(?!external_id)\w+_id\}"
) -> list[tuple[str, str]]:
    """Every (method, path) of the published API that takes one of kanal's ids in its path.

    Paths keyed by the host's external id are another tenant's namespace: tested below.
    """
    paths = client.get("/openapi.json").json()["paths"]
    return [
        (method.upper(), path)
        for path, operations in paths.items()
        if re.search(param, path)
        for method in operations
    ]


# Valid bodies for the other routes that need one (else the answer would be 422, not 404).
STATEMENT = {
    "kind": "statement",
    "filename": "oswiadczenie.pdf",
    "content_type": "application/pdf",
    "content_base64": base64.b64encode(b"%PDF-1.4 signed").decode(),
}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/v1/sms/sender-names/{sender_name_id}/documents"): STATEMENT,
}


def _body(path: str, method: str) -> dict[str, Any] | None:
    prefix = path.split("/{")[0]
    if prefix not in RESOURCES:
        pytest.fail(f"{method} {path}: add the resource to RESOURCES in this test")
    return RESOURCES[prefix][1] if method in ("PATCH", "PUT", "POST") else None


@pytest.fixture
def owned(api: Api) -> dict[str, dict[str, Any]]:
    """One record of every resource, owned by the first tenant."""
    records = {}
    for prefix, (create, _) in RESOURCES.items():
        response = api.post(prefix, json=create)
        assert response.status_code == 201, response.text
        records[prefix] = response.json()
    return records


def test_the_route_table_is_not_empty(client: TestClient) -> None:
    paths = {path for _, path in _id_routes(client, r"\{record_id\}")}
    assert {p.split("/{")[0] for p in paths} == set(RESOURCES)


def _messaging(api: Api, owned: dict[str, dict[str, Any]]) -> dict[str, str]:
    """A message, its thread and a webhook endpoint of the first tenant."""
    client_id = owned["/v1/clients"]["id"]
    owned["/v1/clients"] = api.patch(
        f"/v1/clients/{client_id}", json={"portal_active": True}
    ).json()
    message = api.post(
        "/v1/messages",
        json={"recipient": {"client_id": client_id}, "channels": ["portal"], "text": "Hej"},
    ).json()
    hook = api.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}).json()
    sender_name = api.post(
        "/v1/sms/sender-names", json={"name": "SERWIS", "registered_name": True}
    ).json()
    with_document = api.post(
        f"/v1/sms/sender-names/{sender_name['id']}/documents", json=STATEMENT
    ).json()
    gateway = api.post(
        "/v1/sms/gateways", json={"name": "own", "kind": "smsapi", "config": {"token": "t"}}
    ).json()
    return {
        "gateway_id": gateway["id"],
        "client_id": client_id,
        "context_id": owned["/v1/contexts"]["id"],
        "message_id": message["id"],
        "thread_id": message["thread_id"],
        "endpoint_id": hook["id"],
        "sender_name_id": sender_name["id"],
        "document_id": with_document["documents"][0]["id"],
    }


def test_every_id_route_is_404_for_another_tenant(
    client: TestClient, api: Api, other_api: Api, owned: dict[str, dict[str, Any]]
) -> None:
    ids = _messaging(api, owned)
    checked = 0
    for method, path in _id_routes(client):
        if path.startswith("/v1/ops/"):
            continue  # the service staff's routes: no tenant key opens them (test_api_senders)
        url = path
        if "{record_id}" in path:
            url = url.replace("{record_id}", owned[path.split("/{")[0]]["id"])
            body = _body(path, method)
        else:
            body = BODIES.get((method, path))
        for name, value in ids.items():
            url = url.replace("{" + name + "}", value)
        assert "{" not in url, f"{method} {path}: add its id to _messaging() in this test"
        response = other_api.request(method, url, **({"json": body} if body else {}))
        assert response.status_code == 404, f"{method} {path}: {response.status_code}"
        assert response.json()["error"]["code"] == "not_found"
        checked += 1
    assert checked >= 23
    # and nothing of the first tenant changed or vanished
    for prefix, record in owned.items():
        assert api.get(f"{prefix}/{record['id']}").json() == record


def test_lists_and_searches_show_only_the_tenants_records(
    api: Api, other_api: Api, owned: dict[str, dict[str, Any]]
) -> None:
    for prefix, record in owned.items():
        theirs = other_api.get(prefix, params={"limit": 200}).json()["items"]
        assert record["id"] not in {r["id"] for r in theirs}
        assert record["id"] in {
            r["id"] for r in api.get(prefix, params={"limit": 200}).json()["items"]
        }
    for query in ("Anna", "601234567", "Nowak"):
        assert other_api.get("/v1/clients", params={"q": query}).json()["items"] == []


def test_the_same_external_id_in_another_tenant_is_another_record(
    api: Api, other_api: Api, owned: dict[str, dict[str, Any]]
) -> None:
    for prefix in ("/v1/partners", "/v1/clients", "/v1/branches", "/v1/employees"):
        create = RESOURCES[prefix][0]
        response = other_api.put(f"{prefix}/by-external-id/x-1", json=create)
        assert response.status_code == 201, f"{prefix}: {response.text}"
        assert response.json()["id"] != owned[prefix]["id"]
    response = other_api.put(
        "/v1/contexts/by-external-id/order/x-1", json=RESOURCES["/v1/contexts"][0]
    )
    assert response.status_code == 201
    for prefix, record in owned.items():
        assert api.get(f"{prefix}/{record['id']}").json() == record


def test_references_to_another_tenants_records_are_422(
    api: Api, other_api: Api, owned: dict[str, dict[str, Any]]
) -> None:
    branch_id = owned["/v1/branches"]["id"]
    client_id = owned["/v1/clients"]["id"]
    employee_id = owned["/v1/employees"]["id"]
    partner_id = owned["/v1/partners"]["id"]
    attempts = [
        ("/v1/branches", {"trade_name": "X", "partner_id": partner_id}, "partner_unknown"),
        ("/v1/clients", {"name": "X", "home_branch_id": branch_id}, "branch_unknown"),
        ("/v1/employees", {"name": "X", "branch_id": branch_id}, "branch_unknown"),
        (
            "/v1/contexts",
            {"kind": "order", "external_id": "o", "client_id": client_id},
            "client_unknown",
        ),
        (
            "/v1/contexts",
            {"kind": "task", "external_id": "t", "assignees": [{"employee_id": employee_id}]},
            "employee_unknown",
        ),
    ]
    for prefix, body, code in attempts:
        response = other_api.post(prefix, json=body)
        assert response.status_code == 422, prefix
        assert [f["code"] for f in response.json()["error"]["fields"]] == [code]


def test_tenant_route_shows_only_the_callers_account(api: Api, other_api: Api) -> None:
    assert api.get("/v1/tenant").json()["id"] == str(api.tenant.id)
    assert other_api.get("/v1/tenant").json()["id"] == str(other_api.tenant.id)
    assert re.fullmatch(r"[0-9a-f-]{36}", api.get("/v1/tenant").json()["id"])
