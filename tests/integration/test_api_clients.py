"""Clients over HTTP: create, read, change, sync by external id, search, and refuse bad input."""

from typing import Any

import pytest

from tests.conftest import Api


def _client(api: Api, **fields: Any) -> dict[str, Any]:
    body = {"name": "Jan Kowalski", **fields}
    response = api.post("/v1/clients", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _count(api: Api) -> int:
    return len(api.get("/v1/clients", params={"limit": 200}).json()["items"])


def test_create_and_read_a_client_with_phones_and_emails(api: Api) -> None:
    created = _client(
        api,
        kind="company",
        locale="cs",
        phones=[
            {"number": "601 234 567", "label": "komórka"},
            {"number": "+420 731 123 456"},
            {"number": "12 345 67 89", "label": "biuro"},
        ],
        emails=[{"address": "Jan.Kowalski@Example.COM"}],
        marketing_consent=True,
        marketing_consent_source="formularz",
    )
    fetched = api.get(f"/v1/clients/{created['id']}").json()
    assert fetched == created
    assert [(p["e164"], p["country"], p["sms_capable"]) for p in fetched["phones"]] == [
        ("+48601234567", "PL", True),
        ("+420731123456", "CZ", True),
        ("+48123456789", "PL", False),
    ]
    assert fetched["emails"][0]["address"] == "jan.kowalski@example.com"
    assert fetched["emails"][0]["blocked"] is False
    assert fetched["sms_info_allowed"] is True  # informational SMS is on by default
    assert fetched["marketing_consent_at"] is not None


def test_patch_changes_only_what_is_given(api: Api) -> None:
    created = _client(api, phones=[{"number": "601234567"}], email_allowed=True)
    changed = api.patch(
        f"/v1/clients/{created['id']}", json={"email_allowed": False, "name": "Jan K."}
    ).json()
    assert (changed["name"], changed["email_allowed"]) == ("Jan K.", False)
    assert changed["phones"] == created["phones"]


def test_upsert_by_external_id_is_idempotent(api: Api) -> None:
    body = {"name": "Anna Nowak", "phones": [{"number": "500 100 200"}]}
    first = api.put("/v1/clients/by-external-id/crm-17", json=body)
    again = api.put("/v1/clients/by-external-id/crm-17", json=body)
    renamed = api.put("/v1/clients/by-external-id/crm-17", json={**body, "name": "Anna Nowak-Lis"})
    assert (first.status_code, again.status_code, renamed.status_code) == (201, 200, 200)
    assert first.json()["id"] == again.json()["id"] == renamed.json()["id"]
    assert renamed.json()["name"] == "Anna Nowak-Lis"
    assert renamed.json()["external_id"] == "crm-17"
    assert _count(api) == 1


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("kowalski", ["Jan Kowalski"]),
        ("ŁUKASZ", ["Łukasz Żółć"]),
        ("lukasz zolc", ["Łukasz Żółć"]),
        ("zolc luk", ["Łukasz Żółć"]),
        ("601 234 567", ["Jan Kowalski"]),
        ("+48601234567", ["Jan Kowalski"]),
        ("0048 601-234-567", ["Jan Kowalski"]),
        ("234 567", ["Jan Kowalski"]),
        ("731 123", ["Jiří Dvořák"]),
        ("dvorak", ["Jiří Dvořák"]),
        ("jiri@", ["Jiří Dvořák"]),
        ("example.cz", ["Jiří Dvořák"]),
        ("nobody", []),
        ("100%", []),
    ],
)
def test_recipient_search(api: Api, query: str, expected: list[str]) -> None:
    _client(api, phones=[{"number": "601 234 567"}], emails=[{"address": "jan@example.pl"}])
    _client(api, name="Łukasz Żółć", phones=[{"number": "+48 512 000 111"}])
    _client(
        api,
        name="Jiří Dvořák",
        phones=[{"number": "+420 731 123 456"}],
        emails=[{"address": "jiri@example.cz"}],
    )
    found = api.get("/v1/clients", params={"q": query}).json()["items"]
    assert sorted(c["name"] for c in found) == expected


def test_pagination_walks_every_client_once(api: Api) -> None:
    names = {f"Klient {i:02d}" for i in range(7)}
    for name in names:
        _client(api, name=name)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/clients", params=params).json()
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(names)


@pytest.mark.parametrize(
    ("locale", "message"),
    [
        ("pl", "Niepoprawny numer telefonu: 123."),
        ("cs", "Neplatné telefonní číslo: 123."),
        ("en", "Invalid phone number: 123."),
    ],
)
def test_bad_input_is_422_with_codes_in_the_tenants_language(
    api: Api, locale: str, message: str
) -> None:
    api.patch("/v1/tenant", json={"locale": locale})
    response = api.post(
        "/v1/clients",
        json={
            "name": "Ewa",
            "phones": [{"number": "601 234 567"}, {"number": "123"}, {"number": "+48601234567"}],
            "emails": [{"address": "not-an-address"}],
        },
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    fields = {(f["field"], f["code"]): f["message"] for f in error["fields"]}
    assert fields[("phones[1].number", "phone_invalid")] == message
    assert ("phones[2].number", "phone_duplicate") in fields
    assert ("emails[0].address", "email_invalid") in fields
    assert _count(api) == 0  # nothing half-written


def test_missing_and_unknown_fields_are_422(api: Api) -> None:
    response = api.post("/v1/clients", json={"kind": "robot", "colour": "red"})
    assert response.status_code == 422
    codes = {(f["field"], f["code"]) for f in response.json()["error"]["fields"]}
    assert codes == {("name", "required"), ("kind", "invalid_choice"), ("colour", "unknown_field")}
    assert response.json()["error"]["message"] == "Dane są niepoprawne."


def test_duplicate_external_id_is_422_and_nothing_changes(api: Api) -> None:
    _client(api, external_id="c-1")
    second = _client(api, external_id="c-2")
    response = api.post("/v1/clients", json={"name": "Ktoś", "external_id": "c-1"})
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["code"] == "external_id_taken"
    response = api.patch(f"/v1/clients/{second['id']}", json={"external_id": "c-1", "name": "X"})
    assert response.status_code == 422
    assert api.get(f"/v1/clients/{second['id']}").json()["name"] == "Jan Kowalski"
    assert _count(api) == 2


def test_unknown_branch_reference_is_422(api: Api) -> None:
    response = api.post(
        "/v1/clients",
        json={"name": "Ewa", "home_branch_id": "01a2125c-92b1-7f04-a75d-22c966674dde"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["code"] == "branch_unknown"


def test_malformed_json_is_422(api: Api) -> None:
    response = api.post(
        "/v1/clients", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "malformed_request"


def test_delete(api: Api) -> None:
    created = _client(api)
    assert api.delete(f"/v1/clients/{created['id']}").status_code == 204
    assert api.get(f"/v1/clients/{created['id']}").status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer kn_wrong"}, {"Authorization": "Basic abc"}],
)
def test_requests_without_a_valid_key_are_401(api: Api, headers: dict[str, str]) -> None:
    response = api.client.get("/v1/clients", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
