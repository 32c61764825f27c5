"""The HTTP API through the real app (FastAPI TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import logging

import pytest
from fastapi.testclient import TestClient

from polis import calc
from polis.logs import configure_logging
from tests.e2e.accounts import Account

pytestmark = pytest.mark.db


def test_health_reports_the_database_at_the_head_revision(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["revision"] == body["head"]


def test_openapi_documents_the_calculator_and_the_docs_page_is_served(client: TestClient) -> None:
    assert "/v1/calc/crm" in client.get("/openapi.json").json()["paths"]
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_http_crm_gives_the_same_json_as_the_python_calculator(client: TestClient) -> None:
    request = {
        "start": "0.68",
        "periods": [
            {"claims": [{"responsibility": "full"}, {"responsibility": "full"}]},
            {"claims": []},
        ],
    }
    response = client.post("/v1/calc/crm", json=request)
    assert response.status_code == 200
    assert response.json() == calc.crm(request).model_dump(mode="json")
    assert response.json()["coefficients"] == ["1.06", "1.00"]


def test_a_claim_free_year_from_one_gives_095(client: TestClient) -> None:
    body = client.post("/v1/calc/crm", json={"start": "1.00", "periods": [{"claims": []}]}).json()
    assert body["final"] == "0.95"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            {"periods": [{"claims": [{"responsibility": "maybe"}]}]},
            "periods[0].claims[0].responsibility",
        ),
        ({"periods": [], "colour": "red"}, "colour"),
        ({"start": "abc", "periods": [{"claims": []}]}, "start"),
    ],
)
def test_a_bad_calculator_request_gets_422_naming_the_field(
    client: TestClient, payload: dict[str, object], field: str
) -> None:
    response = client.post("/v1/calc/crm", json=payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "input.invalid"
    assert error["field"] == field
    assert error["message"]


def test_a_body_that_is_not_json_gets_the_error_shape(client: TestClient) -> None:
    response = client.post(
        "/v1/calc/crm", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "input.invalid"


def test_unknown_routes_and_methods_get_the_error_shape(client: TestClient) -> None:
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "route.not_found"
    wrong = client.get("/v1/calc/crm")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "route.method_not_allowed"


def test_every_response_carries_a_request_id_and_keeps_the_callers(client: TestClient) -> None:
    assert len(client.get("/health").headers["x-request-id"]) == 32
    echoed = client.get("/health", headers={"X-Request-ID": "trace-abc-123"})
    assert echoed.headers["x-request-id"] == "trace-abc-123"
    error = client.get("/v1/me", headers={"X-Request-ID": "trace-err-1"}).json()
    assert error["request_id"] == "trace-err-1"


def test_log_lines_carry_the_request_id(client: TestClient) -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    try:
        client.get("/health", headers={"X-Request-ID": "log-check-42"})
    finally:
        logging.getLogger().handlers.clear()
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    request_lines = [line for line in lines if line.get("event") == "request"]
    assert request_lines, stream.getvalue()
    assert request_lines[-1]["request_id"] == "log-check-42"
    assert request_lines[-1]["status"] == 200


def test_account_routes_need_an_api_key(client: TestClient) -> None:
    for method, path in [("GET", "/v1/me"), ("POST", "/v1/api-keys"), ("GET", "/v1/audit")]:
        response = client.request(method, path, json={"label": "x"})
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "auth.unauthenticated"
    bad = client.get("/v1/me", headers={"X-API-Key": "polis_000000000000_nope"})
    assert bad.status_code == 401


def test_the_tenant_is_resolved_from_the_key(client: TestClient, account: Account) -> None:
    assert client.get("/v1/me", headers=account.headers).json()["id"] == account.tenant_id
    bearer = {"Authorization": f"Bearer {account.key}"}
    assert client.get("/v1/me", headers=bearer).json()["id"] == account.tenant_id


def test_a_tenant_creates_uses_and_revokes_its_own_keys(
    client: TestClient, account: Account
) -> None:
    created = client.post("/v1/api-keys", json={"label": "marketplace"}, headers=account.headers)
    assert created.status_code == 201
    new_key, key_id = created.json()["key"], created.json()["id"]
    assert client.get("/v1/me", headers={"X-API-Key": new_key}).json()["id"] == account.tenant_id
    listed = client.get("/v1/api-keys", headers=account.headers).json()
    assert key_id in {k["id"] for k in listed}
    assert all("key" not in k for k in listed)
    assert client.delete(f"/v1/api-keys/{key_id}", headers=account.headers).status_code == 200
    assert client.get("/v1/me", headers={"X-API-Key": new_key}).status_code == 401


def test_a_bad_key_request_names_the_field(client: TestClient, account: Account) -> None:
    response = client.post("/v1/api-keys", json={"label": ""}, headers=account.headers)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "label"


def test_a_tenant_never_sees_or_touches_another_tenants_data(
    client: TestClient, account: Account, other_account: Account
) -> None:
    theirs = client.get("/v1/api-keys", headers=other_account.headers).json()
    mine = client.get("/v1/api-keys", headers=account.headers).json()
    assert {k["id"] for k in theirs}.isdisjoint({k["id"] for k in mine})
    revoke = client.delete(f"/v1/api-keys/{theirs[0]['id']}", headers=account.headers)
    assert revoke.status_code == 404
    assert client.get("/v1/me", headers=other_account.headers).status_code == 200
    my_audit = client.get("/v1/audit", headers=account.headers).json()
    assert my_audit
    assert all(e["entity_id"] != other_account.tenant_id for e in my_audit)


def test_the_audit_trail_records_changes_and_verifies(client: TestClient, account: Account) -> None:
    client.post("/v1/api-keys", json={"label": "second"}, headers=account.headers)
    actions = [e["action"] for e in client.get("/v1/audit", headers=account.headers).json()]
    assert actions.count("api_key.created") >= 2
    report = client.get("/v1/audit/verify", headers=account.headers).json()
    assert report["ok"] is True
    assert report["entries"] == len(actions)
