"""The staff's commands against the test database: decisions, numbers, top-ups."""

import base64
import json
import uuid
from typing import Any

import pytest
from typer.testing import CliRunner

from kanal.cli import app
from kanal.store.sms import SenderName
from kanal.store.uow import UnitOfWorkFactory
from tests.conftest import Api

runner = CliRunner()
STATEMENT = {
    "kind": "statement",
    "filename": "oswiadczenie.pdf",
    "content_type": "application/pdf",
    "content_base64": base64.b64encode(b"%PDF-1.7 podpisane").decode(),
}


@pytest.fixture(autouse=True)
def _the_test_database(monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Any) -> None:
    """The commands build their own container from KANAL_* settings, as in production."""
    monkeypatch.setenv("KANAL_DATABASE_URL", database_url)
    monkeypatch.setenv("KANAL_SECRET_KEY", "test-secret")
    monkeypatch.setenv("KANAL_CONFIG", str(tmp_path / "none.toml"))


def kanal(*args: str) -> Any:
    return runner.invoke(app, list(args))


def request(api: Api, name: str, documents: bool = True) -> str:
    response = api.post("/v1/sms/sender-names", json={"name": name, "registered_name": True})
    assert response.status_code == 201, response.text
    sender_name_id: str = response.json()["id"]
    if documents:
        api.post(f"/v1/sms/sender-names/{sender_name_id}/documents", json=STATEMENT)
    return sender_name_id


def decision(uows: UnitOfWorkFactory, sender_name_id: str) -> tuple[str, str | None, str | None]:
    """(status, decided_by, rejection_reason) as stored."""
    with uows.system() as uow:
        row = uow.session.get_one(SenderName, uuid.UUID(sender_name_id))
        return row.status, row.decided_by, row.rejection_reason


def test_list_and_approve(api: Api, uows: UnitOfWorkFactory) -> None:
    ready, waiting = request(api, "GOTOWY"), request(api, "CZEKA", documents=False)
    listed = kanal("sender-name", "list", "--status", "submitted", "--tenant", str(api.tenant.id),
                   "--json")  # fmt: skip
    assert listed.exit_code == 0, listed.output
    assert [(i["id"], i["name"]) for i in json.loads(listed.output)] == [(ready, "GOTOWY")]

    result = kanal("sender-name", "approve", ready)
    assert result.exit_code == 0, result.output
    assert "GOTOWY" in result.output and "approved" in result.output
    status, by, _ = decision(uows, ready)
    assert status == "approved" and (by or "").startswith("cli")
    assert api.get(f"/v1/sms/sender-names/{ready}").json()["status"] == "approved"

    refused = kanal("sender-name", "approve", waiting)  # no statement yet
    assert refused.exit_code == 2
    assert "sender_name_not_submitted" in refused.output
    assert decision(uows, waiting)[0] == "requested"
    assert kanal("sender-name", "list", "--status", "maybe").exit_code == 2


def test_reject_with_a_reason(api: Api, uows: UnitOfWorkFactory) -> None:
    sender_name_id = request(api, "ODRZUC")
    assert kanal("sender-name", "reject", sender_name_id).exit_code == 2  # --reason is required
    result = kanal("sender-name", "reject", sender_name_id, "--reason", "Brak podpisu")
    assert result.exit_code == 0, result.output
    assert "rejected" in result.output and "Brak podpisu" in result.output
    status, _, reason = decision(uows, sender_name_id)
    assert (status, reason) == ("rejected", "Brak podpisu")
    unknown = kanal("sender-name", "approve", str(uuid.uuid4()))
    assert unknown.exit_code == 2 and "not_found" in unknown.output


def test_top_up_prints_the_balance_and_counts_a_reference_once(api: Api) -> None:
    tenant = str(api.tenant.id)
    first = kanal("wallet", "topup", tenant, "100.00", "--reference", "PAY-7")
    assert first.exit_code == 0, first.output
    assert "topped up 100.00 PLN" in first.output and "balance: 100.00 PLN" in first.output
    again = kanal("wallet", "topup", tenant, "100.00", "--reference", "PAY-7")
    assert again.exit_code == 0, again.output
    assert "nothing added" in again.output and "balance: 100.00 PLN" in again.output
    second = kanal("wallet", "topup", tenant, "0.5", "--reference", "PAY-8")
    assert "balance: 100.50 PLN" in second.output
    for amount in ("12.345", "0", "0.00", "abc", "NaN"):
        bad = kanal("wallet", "topup", tenant, amount, "--reference", f"BAD-{amount}")
        assert bad.exit_code == 2, amount
        assert "amount_invalid" in bad.output, amount
    shown = kanal("wallet", "show", tenant)
    assert shown.exit_code == 0, shown.output
    assert "balance 100.50 PLN" in shown.output and "PAY-8" in shown.output


def test_number_add_and_list(api: Api) -> None:
    tenant = str(api.tenant.id)
    added = kanal("sms", "number", "add", tenant, "+48500100300")
    assert added.exit_code == 0, added.output
    assert "+48500100300 added" in added.output
    again = kanal("sms", "number", "add", tenant, "+48500100300")
    assert "already in the pool" in again.output
    bad = kanal("sms", "number", "add", tenant, "500100300")
    assert bad.exit_code == 2 and "sender_number_missing_plus" in bad.output
    listed = kanal("sms", "number", "list", tenant)
    assert listed.exit_code == 0 and "+48500100300" in listed.output
    assert [n["e164"] for n in api.get("/v1/sms/numbers").json()] == ["+48500100300"]
    off = kanal("sms", "number", "deactivate", tenant, "+48500100300")
    assert off.exit_code == 0, off.output
    assert [n["active"] for n in api.get("/v1/sms/numbers").json()] == [False]
    unknown = kanal("sms", "number", "add", str(uuid.uuid4()), "+48500100300")
    assert unknown.exit_code == 2 and "not_found" in unknown.output
