"""The "Sent SMS" report (GET /v1/reports/sms, JSON and CSV), the wallet statement
(GET /v1/wallet) and `kanal report sms`, over SMS composed through the API and taken
through the worker's recording (charges and refunds included)."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from kanal.bootstrap import Container
from kanal.channels.base import Failed, Sent
from kanal.cli import app as cli
from kanal.store.messaging import Delivery
from tests.conftest import Api
from tests.integration.sms_support import compose, fund, record, set_created, sms_client, take

LONG_UCS2 = "Zażółć gęślą jaźń — laptop jest gotowy do odbioru w serwisie przy ul. Długiej 5."


@dataclass
class Shop:
    api: Api
    anna: str
    jan: str
    main_branch: str
    second_branch: str
    order: dict[str, Any]
    sent: dict[str, Any]  # Anna, order ZL/7, branch 2: sent
    failed: dict[str, Any]  # Anna, no context, 2 segments UCS-2: failed (refunded)
    held: dict[str, Any]  # Jan, order ZL/8, main branch: still sending


def _context(api: Api, external_id: str, number: str, client: str, branch: str) -> dict[str, Any]:
    response = api.put(
        f"/v1/contexts/by-external-id/order/{external_id}",
        json={
            "kind": "order",
            "external_id": external_id,
            "number": number,
            "client_id": client,
            "branch_id": branch,
        },
    )
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def shop(api: Api, container: Container) -> Shop:
    fund(container, api.tenant.id, 10_000)
    main_branch = api.get("/v1/branches").json()["items"][0]["id"]
    second = api.post("/v1/branches", json={"trade_name": "Serwis Kraków"}).json()["id"]
    anna = sms_client(api, "Anna Nowak", "601234567")
    jan = sms_client(api, "Jan Kowalski", "602345678")
    order = _context(api, "o-7", "ZL/7", anna, second)
    _context(api, "o-8", "ZL/8", jan, main_branch)
    sent = compose(api, anna, "Laptop gotowy.", context={"kind": "order", "external_id": "o-7"})
    failed = compose(api, anna, LONG_UCS2)
    held = compose(api, jan, "Telefon gotowy.", context={"kind": "order", "external_id": "o-8"})
    assert record(container, take(container, sent["id"]), Sent("p-1"), "dev") == "sent"
    result = Failed("smsapi_13", "No correct phone numbers")
    assert record(container, take(container, failed["id"]), result, "dev") == "failed"
    take(container, held["id"])  # sending: its money is held
    with container.uows.for_tenant(api.tenant.id) as uow:  # test data: a second sender
        uow.session.get_one(Delivery, uuid.UUID(held["id"])).sender = "FixIT"
        uow.commit()
    return Shop(api, anna, jan, main_branch, second, order, sent, failed, held)


def report(api: Api, **params: Any) -> dict[str, Any]:
    response = api.get("/v1/reports/sms", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def ids(body: dict[str, Any]) -> list[str]:
    return [row["id"] for row in body["items"]]


def test_rows_and_totals_match_the_wallet(shop: Shop) -> None:
    body = report(shop.api)
    assert ids(body) == [shop.held["id"], shop.failed["id"], shop.sent["id"]]  # newest first
    held, failed, sent = body["items"]
    assert (sent["recipient"], sent["client_name"], sent["sender"]) == (
        "+48601234567",
        "Anna Nowak",
        "KANAL",
    )
    assert (sent["segments"], sent["encoding"], sent["cost_minor"], sent["cost"]) == (
        1,
        "GSM-7",
        16,
        "0.16 PLN",
    )
    assert (sent["status"], sent["charged"], sent["context_number"]) == ("sent", True, "ZL/7")
    assert sent["branch_id"] == shop.second_branch
    assert (failed["segments"], failed["encoding"], failed["cost_minor"]) == (2, "UCS-2", 32)
    assert (failed["status"], failed["charged"], failed["error_code"]) == (
        "failed",
        False,
        "smsapi_13",
    )
    assert (held["sender"], held["status"], held["client_name"]) == (
        "FixIT",
        "sending",
        "Jan Kowalski",
    )
    assert body["totals"] == {
        "count": 3, "segments": 4, "cost_minor": 16, "cost": "0.16 PLN", "held_minor": 16,
    }  # fmt: skip
    wallet = shop.api.get("/v1/wallet").json()
    assert (wallet["charged_minor"], wallet["reserved_minor"]) == (16, 16)
    assert wallet["balance_minor"] == 10_000 - 16 - 16
    kinds = sorted(e["kind"] for e in wallet["entries"])
    assert kinds == [
        "charge",
        "release",
        "release",
        "reservation",
        "reservation",
        "reservation",
        "topup",
    ]


def test_filters(shop: Shop) -> None:
    api = shop.api
    assert ids(report(api, status="sent")) == [shop.sent["id"]]
    assert ids(report(api, status=["sent", "failed"])) == [shop.failed["id"], shop.sent["id"]]
    assert ids(report(api, client_id=shop.jan)) == [shop.held["id"]]
    assert ids(report(api, branch_id=shop.second_branch)) == [shop.sent["id"]]
    assert ids(report(api, branch_id=shop.main_branch)) == [shop.held["id"]]
    assert ids(report(api, sender="FixIT")) == [shop.held["id"]]
    assert ids(report(api, context_id=shop.order["id"])) == [shop.sent["id"]]
    by_ref = report(api, context_kind="order", context_external_id="o-8")
    assert ids(by_ref) == [shop.held["id"]] and by_ref["totals"]["held_minor"] == 16
    filtered = report(api, client_id=shop.anna, status="failed")
    assert filtered["totals"] == {
        "count": 1, "segments": 2, "cost_minor": 0, "cost": "0.00 PLN", "held_minor": 0,
    }  # fmt: skip


def test_the_period_is_in_the_tenants_time_zone(shop: Shop, container: Container) -> None:
    # 23:30 UTC on 31 January is already 1 February in Warsaw.
    set_created(container, shop.sent["id"], datetime(2025, 1, 15, 10, 0, tzinfo=UTC))
    set_created(container, shop.failed["id"], datetime(2025, 1, 31, 23, 30, tzinfo=UTC))
    january = report(shop.api, **{"from": "2025-01-01", "to": "2025-01-31"})
    assert ids(january) == [shop.sent["id"]]
    assert january["period_from"] == "2024-12-31T23:00:00Z"
    assert january["period_to"] == "2025-01-31T23:00:00Z"
    february = report(shop.api, **{"from": "2025-02-01", "to": "2025-02-01"})
    assert ids(february) == [shop.failed["id"]]
    exact = report(shop.api, **{"from": "2025-01-31T23:00:00Z", "to": "2025-02-01T00:00:00Z"})
    assert ids(exact) == [shop.failed["id"]]


def test_pages_follow_each_other_and_keep_the_totals(shop: Shop) -> None:
    seen, cursor = [], None
    for _ in range(4):
        page = report(shop.api, limit=1, **({"cursor": cursor} if cursor else {}))
        assert page["totals"]["count"] == 3
        seen += ids(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [shop.held["id"], shop.failed["id"], shop.sent["id"]]


def test_csv_has_every_row_local_times_and_the_totals(shop: Shop, container: Container) -> None:
    set_created(container, shop.sent["id"], datetime(2025, 1, 31, 23, 30, tzinfo=UTC))
    response = shop.api.get(
        "/v1/reports/sms", params={"format": "csv", "from": "2025-02-01", "to": "2025-02-01"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="sms-report-20250201_20250201.csv"' in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:4] == ["time", "recipient", "client", "sender"]
    assert rows[1][:8] == [
        "2025-02-01 00:30:00",
        "+48601234567",
        "Anna Nowak",
        "KANAL",
        "1",
        "GSM-7",
        "16",
        "0.16 PLN",
    ]
    assert rows[-1][:8] == ["TOTAL", "1", "", "", "1", "", "16", "0.16 PLN"]
    by_accept = shop.api.get("/v1/reports/sms", headers={"Accept": "text/csv"})
    lines = list(csv.reader(io.StringIO(by_accept.text)))
    assert len(lines) == 1 + 3 + 1 and lines[-1][:7] == ["TOTAL", "3", "", "", "4", "", "16"]


def test_another_tenants_ids_are_not_found(shop: Shop, other_api: Api) -> None:
    assert report(other_api)["items"] == []
    for params in (
        {"client_id": shop.anna},
        {"branch_id": shop.second_branch},
        {"context_id": shop.order["id"]},
        {"context_kind": "order", "context_external_id": "o-7"},
    ):
        response = other_api.get("/v1/reports/sms", params=params)
        assert response.status_code == 404, params
        assert response.json()["error"]["code"] == "not_found"
    csv_response = other_api.get(
        "/v1/reports/sms", params={"format": "csv", "client_id": shop.anna}
    )
    assert csv_response.status_code == 404  # checked before the stream starts


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"from": "31.01.2025"}, "report_period_invalid", "from"),
        ({"from": "2025-02-01", "to": "2025-01-01"}, "report_period_order", "to"),
        ({"context_kind": "order"}, "report_context_incomplete", "context_external_id"),
        ({"status": "lost"}, "invalid_choice", "status[0]"),
    ],
)
def test_bad_filters_are_validation_errors(
    api: Api, params: dict[str, str], code: str, field: str
) -> None:
    response = api.get("/v1/reports/sms", params=params, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    (problem,) = response.json()["error"]["fields"]
    assert (problem["code"], problem["field"]) == (code, field)


def test_cli_report_sms(shop: Shop, container: Container, database_url: str, tmp_path: Any) -> None:
    env = {
        "KANAL_DATABASE_URL": database_url, "KANAL_SECRET_KEY": "test-secret",
        "KANAL_CONFIG": str(tmp_path / "none.toml"), "COLUMNS": "200",
    }  # fmt: skip
    runner = CliRunner()
    table = runner.invoke(cli, ["report", "sms", "--tenant", str(shop.api.tenant.id)], env=env)
    assert table.exit_code == 0, table.output
    assert "Sent SMS" in table.output and "Jan Kowalski" in table.output and "ZL/7" in table.output
    footer = next(line for line in table.output.splitlines() if "Total" in line)
    assert "3 SMS" in footer and "0.16 PLN" in footer and " 4 " in footer

    only_sent = runner.invoke(
        cli,
        ["report", "sms", "--tenant", str(shop.api.tenant.id), "--status", "sent", "--csv"],
        env=env,
    )
    assert only_sent.exit_code == 0, only_sent.output
    rows = list(csv.reader(io.StringIO(only_sent.output)))
    assert [r[1] for r in rows] == ["recipient", "+48601234567", "1"] and rows[-1][0] == "TOTAL"

    bad = runner.invoke(
        cli, ["report", "sms", "--tenant", str(shop.api.tenant.id), "--from", "x"], env=env
    )
    assert bad.exit_code == 2 and "report_period_invalid" in bad.output
