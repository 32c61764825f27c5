"""The public certificate checks are throttled per client address (``polis.api.ratelimit``): 60 a
minute by default, the 61st answered 429 with ``Retry-After`` — in the API's error shape, or as a
French or English page — without slowing other clients, and allowed again once a token is back.
The API and the pages draw on the same buckets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from polis.api import create_app
from polis.api.ratelimit import TokenBuckets
from tests.ondemand_fixtures import api_settings

UNKNOWN = "/v1/certificates/ATT-2026-999999/verify"


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _app(database_url: str, tmp_path: Path, clock: Clock, **overrides: Any) -> FastAPI:
    settings = api_settings(database_url, tmp_path, **overrides)
    app = create_app(settings)
    app.state.verify_limiter = TokenBuckets.from_settings(settings, clock=clock)
    return app


@pytest.fixture
def app(database_url: str, tmp_path: Path, clock: Clock) -> FastAPI:
    return _app(database_url, tmp_path, clock)


@pytest.fixture
def api(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, client=("198.51.100.7", 40000)) as client:
        yield client


def _spend(client: TestClient, count: int = 60) -> None:
    for _ in range(count):
        assert client.get(UNKNOWN).status_code == 200


def test_the_61st_check_in_a_minute_is_refused_with_retry_after(
    api: TestClient, clock: Clock
) -> None:
    _spend(api)
    refused = api.get(UNKNOWN)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    body = refused.json()
    assert body["error"]["code"] == "request.rate_limited"
    assert body["error"]["field"] is None
    assert body["request_id"] == refused.headers["X-Request-ID"]
    clock.now += 1.0  # one token back
    assert api.get(UNKNOWN).status_code == 200
    assert api.get(UNKNOWN).status_code == 429
    clock.now += 60.0
    _spend(api)


def test_other_addresses_are_not_slowed_and_a_forged_forwarded_for_changes_nothing(
    api: TestClient, app: FastAPI
) -> None:
    _spend(api)
    forged = api.get(UNKNOWN, headers={"X-Forwarded-For": "203.0.113.50"})
    assert forged.status_code == 429
    with TestClient(app, client=("203.0.113.9", 40001)) as other:
        assert other.get(UNKNOWN).status_code == 200


def test_behind_a_declared_proxy_the_forwarded_client_is_counted(
    database_url: str, tmp_path: Path, clock: Clock
) -> None:
    app = _app(database_url, tmp_path, clock, trusted_proxy_hops=1)
    with TestClient(app, client=("10.0.0.2", 40000)) as proxy:
        first = {"X-Forwarded-For": "198.51.100.7"}
        for _ in range(60):
            assert proxy.get(UNKNOWN, headers=first).status_code == 200
        assert proxy.get(UNKNOWN, headers=first).status_code == 429
        second = {"X-Forwarded-For": "1.2.3.4, 203.0.113.9"}  # the proxy appended the last
        assert proxy.get(UNKNOWN, headers=second).status_code == 200


def test_the_pdf_check_and_the_pages_share_the_bucket(api: TestClient) -> None:
    _spend(api, 59)
    upload = {"file": ("x.pdf", b"not a pdf", "application/pdf")}
    assert api.post("/v1/certificates/verify", files=upload).status_code == 422  # the 60th
    refused = api.post("/v1/certificates/verify", files=upload)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "request.rate_limited"
    page = api.get("/verify/ATT-2026-999999")
    assert page.status_code == 429
    assert page.headers["Retry-After"] == "1"
    assert "Trop de vérifications depuis votre adresse" in page.text
    api.cookies.set("polis_lang", "en")
    english = api.post("/verify", files=upload)
    assert english.status_code == 429
    assert "Too many checks from your address" in english.text


def test_the_form_page_itself_is_not_throttled(api: TestClient) -> None:
    _spend(api)
    assert api.get("/verify").status_code == 200
