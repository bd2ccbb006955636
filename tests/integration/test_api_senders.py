"""Sender names and numbers over HTTP: the tenant's requests and the staff's decisions.

Staff routes run on a second app over the same database with an operator token set;
the session's app has none, so there /v1/ops does not exist.
"""

import base64
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kanal.api.app import create_app
from kanal.bootstrap import Container
from kanal.core.sms import validate_sender_name
from kanal.services.sender_names import MAX_DOCUMENT_BYTES, approved_name
from kanal.store.sms import ClientSender
from kanal.store.uow import UnitOfWorkFactory
from tests.conftest import Api

TOKEN = "ops-" + secrets.token_hex(16)
PDF = b"%PDF-1.4\n" + secrets.token_bytes(2000) + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(500)
JPEG = b"\xff\xd8\xff\xe0" + secrets.token_bytes(500)


@pytest.fixture(scope="module")
def ops_client(container: Container) -> Iterator[TestClient]:
    settings = container.settings.model_copy(update={"operator_token": TOKEN})
    staff = Container(settings=settings, uows=container.uows, secrets=container.secrets)
    with TestClient(create_app(staff)) as client:
        yield client


@pytest.fixture
def ops(ops_client: TestClient) -> Api:
    """The staff: the operator token instead of a tenant's key (no tenant behind it)."""
    return Api(ops_client, TOKEN, None)  # type: ignore[arg-type]


def document(kind: str, data: bytes = PDF, content_type: str = "application/pdf",
             filename: str = "oświadczenie.pdf") -> dict[str, Any]:  # fmt: skip
    return {
        "kind": kind,
        "filename": filename,
        "content_type": content_type,
        "content_base64": base64.b64encode(data).decode(),
    }


def request_name(api: Api, name: str = "SERWIS", registered: bool = False) -> dict[str, Any]:
    response = api.post("/v1/sms/sender-names", json={"name": name, "registered_name": registered})
    assert response.status_code == 201, response.text
    return response.json()


def attach(api: Api, sender_name_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api.post(f"/v1/sms/sender-names/{sender_name_id}/documents", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def submitted(api: Api, name: str = "SERWIS") -> dict[str, Any]:
    request = request_name(api, name, registered=True)
    return attach(api, request["id"], document("statement"))


def codes(response: Any) -> list[str]:
    return [f["code"] for f in response.json()["error"]["fields"]]


# --- the workflow ------------------------------------------------------------------------


def test_a_name_that_is_not_the_registered_one_goes_through_with_both_documents(
    api: Api, ops: Api, uows: UnitOfWorkFactory
) -> None:
    request = request_name(api, "Auto-Fix", registered=False)
    assert (request["status"], request["missing"]) == ("requested", ["statement", "supporting"])

    after_statement = attach(api, request["id"], document("statement"))
    assert (after_statement["status"], after_statement["missing"]) == ("requested", ["supporting"])
    invoice = document("supporting", PNG, "image/png", "faktura-domena.png")
    after_invoice = attach(api, request["id"], invoice)
    assert (after_invoice["status"], after_invoice["missing"]) == ("submitted", [])
    assert [d["kind"] for d in after_invoice["documents"]] == ["statement", "supporting"]
    assert after_invoice["documents"][1]["size"] == len(PNG)
    with uows.for_tenant(api.tenant.id) as uow:  # not usable until approved
        assert approved_name(uow.session, uuid.UUID(request["id"])) is None

    queue = ops.get(
        "/v1/ops/sender-names", params={"status": "submitted", "tenant_id": str(api.tenant.id)}
    ).json()["items"]
    assert [(i["id"], i["tenant_name"]) for i in queue] == [(request["id"], api.tenant.name)]

    approved = ops.post(f"/v1/ops/sender-names/{request['id']}/approve", json={"by": "Ewa"})
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["decided_by"]) == ("approved", "Ewa")
    seen = api.get(f"/v1/sms/sender-names/{request['id']}").json()
    assert seen["status"] == "approved" and seen["decided_at"] is not None
    assert [r["id"] for r in api.get("/v1/sms/sender-names?status=approved").json()] == [
        request["id"]
    ]
    with uows.for_tenant(api.tenant.id) as uow:
        assert approved_name(uow.session, uuid.UUID(request["id"])) == "Auto-Fix"


def test_a_missing_supporting_document_keeps_it_requested_and_unapprovable(
    api: Api, ops: Api
) -> None:
    request = request_name(api, "MOJA MARKA", registered=False)
    only_statement = attach(api, request["id"], document("statement"))
    assert (only_statement["status"], only_statement["missing"]) == ("requested", ["supporting"])
    assert attach(api, request["id"], document("statement"))["status"] == "requested"

    response = ops.post(f"/v1/ops/sender-names/{request['id']}/approve")
    assert response.status_code == 422
    assert codes(response) == ["sender_name_not_submitted"]
    assert api.get(f"/v1/sms/sender-names/{request['id']}").json()["status"] == "requested"


def test_the_registered_name_needs_only_the_statement(api: Api) -> None:
    assert submitted(api, "Kowal Auto")["status"] == "submitted"


def test_rejected_with_a_reason_then_requested_again(api: Api, ops: Api) -> None:
    request = submitted(api, "NAPRAWA24")
    response = ops.post(
        f"/v1/ops/sender-names/{request['id']}/reject", json={"reason": "Nieczytelny podpis"}
    )
    assert response.status_code == 200, response.text
    seen = api.get(f"/v1/sms/sender-names/{request['id']}").json()
    assert (seen["status"], seen["rejection_reason"]) == ("rejected", "Nieczytelny podpis")
    assert codes(ops.post(f"/v1/ops/sender-names/{request['id']}/approve")) == [
        "sender_name_not_submitted"
    ]
    assert codes(
        ops.post(f"/v1/ops/sender-names/{request['id']}/reject", json={"reason": "again"})
    ) == ["sender_name_decided"]
    assert codes(api.post(f"/v1/sms/sender-names/{request['id']}/documents",
                          json=document("statement"))) == ["sender_name_decided"]  # fmt: skip

    again = request_name(api, "NAPRAWA24", registered=True)
    assert again["id"] == request["id"]
    assert (again["status"], again["documents"], again["rejection_reason"]) == (
        "requested", [], None,
    )  # fmt: skip
    assert attach(api, again["id"], document("statement"))["status"] == "submitted"
    assert ops.post(f"/v1/ops/sender-names/{again['id']}/approve").json()["status"] == "approved"


def test_the_same_name_twice_is_refused_whatever_its_case(api: Api, other_api: Api) -> None:
    request_name(api, "Serwis")
    for name in ("Serwis", "SERWIS"):
        response = api.post("/v1/sms/sender-names", json={"name": name, "registered_name": True})
        assert response.status_code == 422
        assert codes(response) == ["sender_name_taken"]
    request_name(other_api, "Serwis")  # another tenant's names are its own
    assert len(api.get("/v1/sms/sender-names").json()) == 1


def test_an_invalid_name_gets_the_checkers_codes_in_the_tenants_language(api: Api) -> None:
    name = "Zakład–Ślusarski"
    response = api.post("/v1/sms/sender-names", json={"name": name, "registered_name": True})
    assert response.status_code == 422
    fields = response.json()["error"]["fields"]
    assert [f["code"] for f in fields] == [p.code for p in validate_sender_name(name)]
    assert {f["code"] for f in fields} == {
        "sender_name_too_long", "sender_name_en_dash", "sender_name_diacritics",
    }  # fmt: skip
    assert {f["field"] for f in fields} == {"name"}
    assert "Nazwa nadawcy" in fields[0]["message"]
    assert api.get("/v1/sms/sender-names").json() == []


def test_documents_download_as_uploaded(api: Api, ops: Api, other_api: Api) -> None:
    request = request_name(api, "FOTO", registered=False)
    attach(api, request["id"], document("statement"))
    view = attach(api, request["id"], document("supporting", JPEG, "image/jpeg", "umowa/zł.jpg"))
    statement, photo = view["documents"]
    assert photo["filename"] == "zł.jpg"  # a path in the name is not kept
    for client, prefix in ((api, "/v1/sms"), (ops, "/v1/ops")):
        for doc, data in ((statement, PDF), (photo, JPEG)):
            got = client.get(f"{prefix}/sender-names/{request['id']}/documents/{doc['id']}")
            assert got.status_code == 200
            assert got.content == data
            assert got.headers["content-type"] == doc["content_type"]
            assert got.headers["content-disposition"].startswith("attachment;")
            assert got.headers["x-content-type-options"] == "nosniff"
    stranger = other_api.get(f"/v1/sms/sender-names/{request['id']}/documents/{photo['id']}")
    assert stranger.status_code == 404
    # a document of one request is not found under another
    other = request_name(api, "INNA", registered=True)
    assert api.get(f"/v1/sms/sender-names/{other['id']}/documents/{photo['id']}").status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (document("statement") | {"content_base64": "not base64!"}, "document_invalid"),
        (document("statement") | {"content_base64": ""}, "document_invalid"),
        (document("statement", PNG), "document_content_mismatch"),  # a PNG called a PDF
        (document("statement", b"<html>", "text/html"), "invalid_choice"),
        (document("passport"), "invalid_choice"),
    ],
)
def test_bad_documents_are_refused(api: Api, body: dict[str, Any], code: str) -> None:
    request = request_name(api, "X-" + secrets.token_hex(3), registered=True)
    response = api.post(f"/v1/sms/sender-names/{request['id']}/documents", json=body)
    assert response.status_code == 422, response.text
    assert codes(response) == [code]
    assert api.get(f"/v1/sms/sender-names/{request['id']}").json()["documents"] == []


def test_a_document_over_10_mb_is_refused(api: Api) -> None:
    request = request_name(api, "DUZY", registered=True)
    big = document("statement", PDF + b"\0" * (MAX_DOCUMENT_BYTES + 1 - len(PDF)))
    response = api.post(f"/v1/sms/sender-names/{request['id']}/documents", json=big)
    assert codes(response) == ["document_too_large"]
    exactly = document("statement", PDF + b"\0" * (MAX_DOCUMENT_BYTES - len(PDF)))
    assert attach(api, request["id"], exactly)["documents"][0]["size"] == MAX_DOCUMENT_BYTES


def test_another_tenant_sees_nothing(api: Api, other_api: Api, uows: UnitOfWorkFactory) -> None:
    request = submitted(api, "TYLKO MOJE")
    assert other_api.get(f"/v1/sms/sender-names/{request['id']}").status_code == 404
    response = other_api.post(
        f"/v1/sms/sender-names/{request['id']}/documents", json=document("supporting")
    )
    assert response.status_code == 404
    assert other_api.get("/v1/sms/sender-names").json() == []
    assert len(api.get(f"/v1/sms/sender-names/{request['id']}").json()["documents"]) == 1
    with uows.for_tenant(other_api.tenant.id) as uow:
        assert approved_name(uow.session, uuid.UUID(request["id"])) is None


# --- the operator's door -----------------------------------------------------------------


def test_operator_routes_need_the_operator_token(ops_client: TestClient, api: Api) -> None:
    for headers in ({}, {"Authorization": f"Bearer {api.key}"}, {"Authorization": "Bearer x"},
                    {"Authorization": f"Bearer {TOKEN}x"}):  # fmt: skip
        response = ops_client.get("/v1/ops/sender-names", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "operator_unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"
    # and a tenant's key opens no staff route, not even for its own tenant
    response = ops_client.post(
        f"/v1/ops/tenants/{api.tenant.id}/wallet/topups",
        json={"amount_minor": 100, "reference": "self"},
        headers={"Authorization": f"Bearer {api.key}"},
    )
    assert response.status_code == 401
    ok = ops_client.get("/v1/ops/sender-names", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200


def test_without_an_operator_token_the_staff_api_does_not_exist(
    client: TestClient, api: Api
) -> None:
    assert client.app.state.container.settings.operator_token is None  # type: ignore[attr-defined]
    for method, path in (
        ("GET", "/v1/ops/sender-names"),
        ("POST", f"/v1/ops/sender-names/{uuid.uuid4()}/approve"),
        ("POST", f"/v1/ops/tenants/{api.tenant.id}/wallet/topups"),  # no body: still 404
    ):
        response = client.request(method, path, headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert not [p for p in client.get("/openapi.json").json()["paths"] if "/v1/ops" in p]


def test_unknown_ids_are_404_for_the_staff(ops: Api) -> None:
    unknown = uuid.uuid4()
    assert ops.get(f"/v1/ops/sender-names/{unknown}").status_code == 404
    assert ops.post(f"/v1/ops/sender-names/{unknown}/approve").status_code == 404
    assert ops.get(f"/v1/ops/tenants/{unknown}/sms/numbers").status_code == 404
    response = ops.post(
        f"/v1/ops/tenants/{unknown}/wallet/topups", json={"amount_minor": 1, "reference": "r"}
    )
    assert response.status_code == 404


# --- numbers -----------------------------------------------------------------------------


def test_staff_keep_the_pool_and_the_tenant_reads_it(
    api: Api, ops: Api, other_api: Api, uows: UnitOfWorkFactory
) -> None:
    pool = f"/v1/ops/tenants/{api.tenant.id}/sms/numbers"
    first = ops.post(pool, json={"number": "+48500100200"})
    assert first.status_code == 201, first.text
    assert ops.post(pool, json={"number": "+48500100200"}).status_code == 200  # already there
    second = ops.post(pool, json={"number": "+420601123456"}).json()
    for number, code in (("0048500100200", "sender_number_missing_plus"),
                         ("+48 500 100 200", "sender_number_bad_characters"),
                         ("+48123", "phone_invalid")):  # fmt: skip
        response = ops.post(pool, json={"number": number})
        assert response.status_code == 422, number
        assert codes(response) == [code], number

    client = api.post("/v1/clients", json={"name": "Jan", "phones": [{"number": "601234567"}]})
    with uows.for_tenant(api.tenant.id) as uow:  # what compose writes for a client's first SMS
        uow.session.add(
            ClientSender(
                client_id=uuid.UUID(client.json()["id"]),
                number_id=uuid.UUID(first.json()["id"]),
                e164="+48500100200",
            )
        )
        uow.commit()
    numbers = api.get("/v1/sms/numbers").json()
    assert [(n["e164"], n["active"], n["clients"]) for n in numbers] == [
        ("+420601123456", True, 0), ("+48500100200", True, 1),
    ]  # fmt: skip
    assert ops.get(pool).json() == numbers
    assert other_api.get("/v1/sms/numbers").json() == []
    assert api.post("/v1/sms/numbers", json={"number": "+48500100201"}).status_code == 405

    off = ops.post(f"{pool}/{second['id']}/deactivate")
    assert off.status_code == 200 and off.json()["active"] is False
    assert [n["active"] for n in api.get("/v1/sms/numbers").json()] == [True, False]
    # another tenant's number cannot be reached through this tenant
    theirs = ops.post(
        f"/v1/ops/tenants/{other_api.tenant.id}/sms/numbers", json={"number": "+48500100200"}
    ).json()
    assert theirs["id"] != first.json()["id"]  # the same number, another tenant's pool
    assert ops.post(f"{pool}/{theirs['id']}/deactivate").status_code == 404
    back = ops.post(pool, json={"number": "+420601123456"})
    assert (back.status_code, back.json()["active"]) == (200, True)


# --- top-ups -----------------------------------------------------------------------------


def test_top_up_once_per_reference(api: Api, ops: Api) -> None:
    topups = f"/v1/ops/tenants/{api.tenant.id}/wallet/topups"
    first = ops.post(topups, json={"amount_minor": 10000, "reference": "PAY-1"})
    assert first.status_code == 201, first.text
    assert (first.json()["balance_minor"], first.json()["currency"]) == (10000, "PLN")
    again = ops.post(topups, json={"amount_minor": 10000, "reference": "PAY-1"})
    assert again.status_code == 200
    assert again.json()["entry"]["id"] == first.json()["entry"]["id"]
    assert again.json()["balance_minor"] == 10000
    assert codes(ops.post(topups, json={"amount_minor": 5, "reference": "PAY-1"})) == [
        "topup_reference_reused"
    ]
    assert ops.post(topups, json={"amount_minor": 0, "reference": "PAY-2"}).status_code == 422
    second = ops.post(topups, json={"amount_minor": 250, "reference": "PAY-2"}).json()
    assert second["balance_minor"] == 10250
    wallet = ops.get(f"/v1/ops/tenants/{api.tenant.id}/wallet").json()
    assert wallet["balance_minor"] == 10250
    assert [(e["kind"], e["reference"]) for e in wallet["entries"]] == [
        ("topup", "PAY-2"), ("topup", "PAY-1"),
    ]  # fmt: skip
