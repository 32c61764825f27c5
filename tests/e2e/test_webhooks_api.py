"""Webhooks and Idempotency-Key over HTTP: the real app on the test database, a real receiver."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import pytest
from fastapi import APIRouter, Request, Response
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from polis.api import create_app
from polis.api.deps import CurrentPrincipal
from polis.api.idempotency import idempotent
from polis.config import Settings
from polis.kernel.errors import NotFound
from polis.kernel.time import utc_now
from polis.notify.webhooks import HttpWebhookSender
from polis.services import outbox, webhooks
from polis.store import SqlUnitOfWork
from tests.e2e.accounts import Account

pytestmark = pytest.mark.db


class Receiver:
    """A local HTTP server on a free port, recording what is posted to its own path."""

    def __init__(self) -> None:
        self.path = f"/hooks/{uuid.uuid4().hex}"
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = 404
                if self.path == receiver.path:
                    receiver.requests.append((dict(self.headers.items()), body))
                    status = 500 if receiver.fail_next > 0 else 204
                    receiver.fail_next -= 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"

    def event_ids(self) -> list[int]:
        return [json.loads(body)["id"] for _, body in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def _settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "webhook_worker_in_process": False,
        "webhooks_allow_private": True,  # the receivers are local
        **overrides,
    }
    return Settings(database_url=database_url, log_format="console", **values)


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    """The app without its background worker: the tests run the delivery rounds themselves."""
    with TestClient(create_app(_settings(database_url))) as client:
        yield client


def _factory(client: TestClient) -> sessionmaker[Session]:
    app: Any = client.app
    factory: sessionmaker[Session] = app.state.session_factory
    return factory


def _deliver(client: TestClient) -> webhooks.DeliveryReport:
    factory = _factory(client)
    return webhooks.deliver_due(
        lambda: SqlUnitOfWork(factory),
        HttpWebhookSender(timeout=5, allow_private=True),
        now=utc_now(),
        limit=1000,
    )


def _publish(client: TestClient, tenant_id: str, event_type: str = "window.activated") -> int:
    uow = SqlUnitOfWork(_factory(client))
    with uow:
        event_id = outbox.publish(
            uow, tenant_id=tenant_id, event_type=event_type, payload={"window_id": "WIN-9"}
        )
        uow.commit()
    return event_id


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def _register(
    client: TestClient, account: Account, url: str, events: list[str] | None = None
) -> dict[str, Any]:
    response = client.post(
        "/v1/webhooks",
        json={"url": url, "events": events or []},
        headers={**account.headers, **_key()},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _error(response: httpx2.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


# --- registering ---------------------------------------------------------------------------------


def test_registering_needs_an_idempotency_key(api: TestClient, account: Account) -> None:
    response = api.post(
        "/v1/webhooks", json={"url": "https://partner.example/hook"}, headers=account.headers
    )
    assert response.status_code == 422
    assert _error(response)["code"] == "idempotency.key_required"
    assert _error(response)["field"] == "Idempotency-Key"
    assert api.get("/v1/webhooks", headers=account.headers).json() == []


def test_a_retried_registration_returns_the_same_endpoint_and_secret(
    api: TestClient, account: Account
) -> None:
    headers = {**account.headers, **_key()}
    body = {"url": "https://partner.example/hook", "events": ["window.*"]}
    first = api.post("/v1/webhooks", json=body, headers=headers)
    again = api.post("/v1/webhooks", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.headers["Idempotent-Replayed"] == "false"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert first.json()["secret"].startswith("whsec_")
    listed = api.get("/v1/webhooks", headers=account.headers).json()
    assert [e["id"] for e in listed] == [first.json()["id"]]
    assert "secret" not in listed[0]
    shown = api.get(f"/v1/webhooks/{first.json()['id']}", headers=account.headers).json()
    assert "secret" not in shown
    assert shown["events"] == ["window.*"]

    reused = api.post(
        "/v1/webhooks", json={**body, "url": "https://elsewhere.example/"}, headers=headers
    )
    assert reused.status_code == 422
    assert _error(reused)["code"] == "idempotency.key_reused"


def test_eight_concurrent_retries_register_one_endpoint(api: TestClient, account: Account) -> None:
    headers = {**account.headers, **_key()}
    barrier = threading.Barrier(8)

    def post() -> httpx2.Response:
        barrier.wait(5)
        return api.post("/v1/webhooks", json={"url": "https://partner.example/c"}, headers=headers)

    with ThreadPoolExecutor(8) as pool:
        responses = [f.result(60) for f in [pool.submit(post) for _ in range(8)]]
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert [r.headers["Idempotent-Replayed"] for r in responses].count("false") == 1
    assert len(api.get("/v1/webhooks", headers=account.headers).json()) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://partner.example/"}, "url"),
        ({"url": "https://partner.example/", "events": ["Bad"]}, "events[0]"),
        ({"url": "https://partner.example/", "colour": "red"}, "colour"),
    ],
)
def test_bad_registrations_name_the_field(
    api: TestClient, account: Account, body: dict[str, Any], field: str
) -> None:
    response = api.post("/v1/webhooks", json=body, headers={**account.headers, **_key()})
    assert response.status_code == 422
    assert _error(response)["field"] == field


def test_a_receiver_on_a_private_address_is_refused_unless_the_setting_allows_it(
    database_url: str, account: Account
) -> None:
    settings = _settings(database_url, webhooks_allow_private=False)
    with TestClient(create_app(settings)) as strict:
        for url in ("http://127.0.0.1:9000/hook", "http://169.254.169.254/latest/meta-data/"):
            response = strict.post(
                "/v1/webhooks", json={"url": url}, headers={**account.headers, **_key()}
            )
            assert response.status_code == 422, response.text
            assert (_error(response)["code"], _error(response)["field"]) == (
                "webhook.url_refused",
                "url",
            )
        assert strict.get("/v1/webhooks", headers=account.headers).json() == []


def test_the_openapi_documents_the_idempotency_key(api: TestClient) -> None:
    operation = api.get("/openapi.json").json()["paths"]["/v1/webhooks"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]]
    assert "409" in operation["responses"]


# --- deliveries and replay -----------------------------------------------------------------------


def test_deliveries_are_listed_and_replayed(
    api: TestClient, account: Account, receiver: Receiver
) -> None:
    endpoint = _register(api, account, receiver.url)
    event_id = _publish(api, account.tenant_id)
    receiver.fail_next = 1
    _deliver(api)
    [failed] = api.get(f"/v1/webhooks/{endpoint['id']}/deliveries", headers=account.headers).json()
    assert (failed["status"], failed["attempts"], failed["last_status_code"]) == ("failed", 1, 500)
    assert failed["event_id"] == event_id

    replayed = api.post(f"/v1/webhooks/deliveries/{failed['id']}/replay", headers=account.headers)
    assert replayed.status_code == 200
    assert (replayed.json()["status"], replayed.json()["attempts"]) == ("pending", 0)
    _deliver(api)
    delivered = api.get(
        f"/v1/webhooks/{endpoint['id']}/deliveries",
        params={"status": "delivered"},
        headers=account.headers,
    ).json()
    assert [d["id"] for d in delivered] == [failed["id"]]
    assert receiver.event_ids() == [event_id, event_id]
    headers, body = receiver.requests[-1]
    assert webhooks.verify_signature(endpoint["secret"], headers["Polis-Signature"], body)


def test_replay_since_resends_past_events(
    api: TestClient, account: Account, receiver: Receiver
) -> None:
    since = utc_now().isoformat()
    endpoint = _register(api, account, receiver.url, ["window.activated"])
    first = _publish(api, account.tenant_id)
    _publish(api, account.tenant_id, "window.expired")  # not wanted by this endpoint
    _deliver(api)
    response = api.post(
        f"/v1/webhooks/{endpoint['id']}/replay", params={"since": since}, headers=account.headers
    )
    assert response.status_code == 200
    assert response.json()["queued"] == 1
    _deliver(api)
    assert receiver.event_ids() == [first, first]

    naive = api.post(
        f"/v1/webhooks/{endpoint['id']}/replay",
        params={"since": "2026-01-01T00:00:00"},
        headers=account.headers,
    )
    assert naive.status_code == 422
    assert _error(naive)["field"] == "since"


def test_a_deleted_endpoint_is_gone(api: TestClient, account: Account) -> None:
    endpoint = _register(api, account, "https://partner.example/gone")
    path = f"/v1/webhooks/{endpoint['id']}"
    assert api.delete(path, headers=account.headers).status_code == 204
    assert api.get(path, headers=account.headers).status_code == 404
    assert api.delete(path, headers=account.headers).status_code == 404
    assert api.get("/v1/webhooks", headers=account.headers).json() == []


def test_a_tenant_never_reaches_another_tenants_webhooks(
    api: TestClient, account: Account, other_account: Account, receiver: Receiver
) -> None:
    endpoint = _register(api, account, receiver.url)
    _publish(api, account.tenant_id)
    _publish(api, other_account.tenant_id)  # no endpoint of theirs: goes nowhere
    _deliver(api)
    [delivery] = api.get(
        f"/v1/webhooks/{endpoint['id']}/deliveries", headers=account.headers
    ).json()
    assert len(receiver.requests) == 1

    them = other_account.headers
    assert api.get("/v1/webhooks", headers=them).json() == []
    attempts = [
        api.get(f"/v1/webhooks/{endpoint['id']}", headers=them),
        api.delete(f"/v1/webhooks/{endpoint['id']}", headers=them),
        api.get(f"/v1/webhooks/{endpoint['id']}/deliveries", headers=them),
        api.post(
            f"/v1/webhooks/{endpoint['id']}/replay",
            params={"since": "2026-01-01T00:00:00Z"},
            headers=them,
        ),
        api.post(f"/v1/webhooks/deliveries/{delivery['id']}/replay", headers=them),
    ]
    assert [r.status_code for r in attempts] == [404] * 5
    assert {_error(r)["code"] for r in attempts} == {
        "webhook.not_found",
        "webhook_delivery.not_found",
    }
    # the same Idempotency-Key means nothing across tenants
    key = _key()
    mine = api.post("/v1/webhooks", json={"url": receiver.url}, headers={**account.headers, **key})
    theirs = api.post("/v1/webhooks", json={"url": receiver.url}, headers={**them, **key})
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.headers["Idempotent-Replayed"] == "false"
    assert api.get(f"/v1/webhooks/{endpoint['id']}", headers=account.headers).status_code == 200


def test_routes_need_an_api_key(api: TestClient) -> None:
    assert api.get("/v1/webhooks").status_code == 401
    assert api.post("/v1/webhooks", json={"url": "https://x.example/"}).status_code == 401


def test_the_server_delivers_in_the_background(
    database_url: str, account: Account, receiver: Receiver
) -> None:
    settings = _settings(
        database_url, webhook_worker_in_process=True, webhook_worker_interval_seconds=0.05
    )
    with TestClient(create_app(settings)) as client:
        _register(client, account, receiver.url)
        event_id = _publish(client, account.tenant_id)
        deadline = time.monotonic() + 10
        while event_id not in receiver.event_ids() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert event_id in receiver.event_ids()


# --- the idempotent() helper on a route of its own -------------------------------------------------


def _app_with_probe(database_url: str) -> tuple[Any, dict[str, Any]]:
    """The real app plus a creating route whose behaviour the test steers."""
    state: dict[str, Any] = {"runs": 0, "mode": "ok", "gate": threading.Event()}
    router = APIRouter()

    @router.post("/v1/probe", status_code=201)
    def probe(request: Request, principal: CurrentPrincipal) -> Response:
        def operation() -> tuple[int, Any]:
            state["runs"] += 1
            if state["mode"] == "slow":
                state["gate"].wait(10)
            if state["mode"] == "crash":
                raise RuntimeError("boom")
            if state["mode"] == "missing":
                raise NotFound("no such thing", code="thing.not_found", field="thing")
            if state["mode"] == "empty":
                return 204, None
            return 201, {"run": state["runs"], "at": utc_now()}

        return idempotent(request, principal, operation, wait_seconds=0.2)

    app = create_app(_settings(database_url))
    app.include_router(router)
    return app, state


def _probe(client: TestClient, headers: dict[str, str], body: object = None) -> httpx2.Response:
    return client.post("/v1/probe", json=body if body is not None else {"a": 1}, headers=headers)


def test_a_crash_answers_500_and_releases_the_key(database_url: str, account: Account) -> None:
    app, state = _app_with_probe(database_url)
    headers = {**account.headers, **_key()}
    with TestClient(app, raise_server_exceptions=False) as client:
        state["mode"] = "crash"
        assert _probe(client, headers).status_code == 500
        state["mode"] = "ok"
        retried = _probe(client, headers)
        assert retried.status_code == 201
        assert retried.headers["Idempotent-Replayed"] == "false"
        assert state["runs"] == 2


def test_a_4xx_error_is_replayed_with_the_new_request_id(
    database_url: str, account: Account
) -> None:
    app, state = _app_with_probe(database_url)
    headers = {**account.headers, **_key()}
    state["mode"] = "missing"
    with TestClient(app) as client:
        first = _probe(client, {**headers, "X-Request-ID": "first"})
        again = _probe(client, {**headers, "X-Request-ID": "again"})
    assert first.status_code == again.status_code == 404
    assert _error(first) == _error(again)
    assert _error(again)["code"] == "thing.not_found"
    assert again.json()["request_id"] == "again"
    assert again.headers["Idempotent-Replayed"] == "true"
    assert state["runs"] == 1


def test_a_retry_during_a_slow_first_call_gets_409_with_retry_after(
    database_url: str, account: Account
) -> None:
    app, state = _app_with_probe(database_url)
    headers = {**account.headers, **_key()}
    state["mode"] = "slow"
    with TestClient(app) as client, ThreadPoolExecutor(1) as pool:
        first = pool.submit(_probe, client, headers)
        while state["runs"] == 0:
            time.sleep(0.01)
        busy = _probe(client, headers)
        state["gate"].set()
        assert first.result(10).status_code == 201
        replay = _probe(client, headers)
    assert busy.status_code == 409
    assert _error(busy)["code"] == "idempotency.in_progress"
    assert busy.headers["Retry-After"] == "1"
    assert replay.json() == first.result().json()
    assert state["runs"] == 1


def test_a_204_answer_is_replayed_empty(database_url: str, account: Account) -> None:
    app, state = _app_with_probe(database_url)
    headers = {**account.headers, **_key()}
    state["mode"] = "empty"
    with TestClient(app) as client:
        first, again = _probe(client, headers), _probe(client, headers)
    assert first.status_code == again.status_code == 204
    assert again.content == b""
    assert again.headers["Idempotent-Replayed"] == "true"


def test_json_bodies_are_compared_canonically(database_url: str, account: Account) -> None:
    app, state = _app_with_probe(database_url)
    headers = {**account.headers, **_key(), "Content-Type": "application/json"}
    send: Callable[[bytes], httpx2.Response]
    with TestClient(app) as client:

        def send(content: bytes) -> httpx2.Response:
            return client.post("/v1/probe", content=content, headers=headers)

        assert send(b'{"a": 1, "b": 2}').headers["Idempotent-Replayed"] == "false"
        assert send(b'{"b":2,"a":1}').headers["Idempotent-Replayed"] == "true"
        assert send(b'{"a": 1, "b": 3}').status_code == 422
    assert state["runs"] == 1
