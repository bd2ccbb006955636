"""The real `kanal` process, set up and used over HTTP the way a new user would."""

import json
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import kanal

pytestmark = pytest.mark.e2e


def test_new_user_sets_up_a_tenant_and_uses_the_api(
    server: str, env: dict[str, str], tmp_path: Path
) -> None:
    tenant = json.loads(kanal(env, tmp_path, "tenant", "create", "Serwis Kowalski", "--json"))
    key = json.loads(kanal(env, tmp_path, "apikey", "create", "--tenant", tenant["id"], "--json"))
    other = json.loads(kanal(env, tmp_path, "tenant", "create", "Konkurencja", "--json"))
    other_key = json.loads(
        kanal(env, tmp_path, "apikey", "create", "--tenant", other["id"], "--json")
    )
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {key['key']}"}) as http:
        created = http.post(
            "/v1/clients",
            json={"name": "Zofia Wróbel", "phones": [{"number": "0048 601-234-567"}]},
        )
        assert created.status_code == 201, created.text
        client = created.json()
        assert client["phones"][0]["e164"] == "+48601234567"
        assert client["phones"][0]["sms_capable"] is True
        found = http.get("/v1/clients", params={"q": "601 234 567"}).json()["items"]
        assert [c["id"] for c in found] == [client["id"]]
        bad = http.post("/v1/clients", json={"name": "X", "phones": [{"number": "12"}]})
        assert bad.status_code == 422
        assert bad.json()["error"]["fields"][0]["message"] == "Niepoprawny numer telefonu: 12."
        docs = http.get("/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()

    stranger = {"Authorization": f"Bearer {other_key['key']}"}
    response = httpx.get(f"{server}/v1/clients/{client['id']}", headers=stranger)
    assert response.status_code == 404
    assert httpx.get(f"{server}/v1/clients").status_code == 401


def test_demo_seeds_a_repair_shop_once(server: str, env: dict[str, str], tmp_path: Path) -> None:
    first = kanal(env, tmp_path, "demo", "--if-missing")
    second = kanal(env, tmp_path, "demo", "--if-missing")
    key = (tmp_path / "var" / "demo_api_key").read_text().strip()
    assert key in first and key in second
    assert "/docs" in first
    headers = {"Authorization": f"Bearer {key}"}
    clients = httpx.get(f"{server}/v1/clients", params={"limit": 200}, headers=headers).json()
    assert len(clients["items"]) == 20
    countries = {p["country"] for c in clients["items"] for p in c["phones"]}
    assert countries == {"PL", "CZ"}
    assert all(p["sms_capable"] for c in clients["items"] for p in c["phones"])
    branches = httpx.get(f"{server}/v1/branches", headers=headers).json()["items"]
    assert len(branches) == 2 and sum(b["is_main"] for b in branches) == 1
    orders = httpx.get(
        f"{server}/v1/contexts", params={"kind": "order", "limit": 200}, headers=headers
    ).json()["items"]
    assert len(orders) >= 20
    assert len({o["status"] for o in orders}) >= 3
