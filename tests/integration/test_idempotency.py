"""Idempotency keys through the service, on SQLite and PostgreSQL: one operation per key, also
under concurrent retries; replays; key reuse; expiry; release after a crash.

The side effect counted is a real use case: creating an API key for the tenant.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from polis.kernel.errors import InvalidInput, NotFound, PolisError
from polis.kernel.time import utc_now
from polis.services import idempotency, tenants
from polis.services.idempotency import (
    Executed,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    IdempotentRequest,
)
from polis.store import SqlUnitOfWork

pytestmark = pytest.mark.db


@pytest.fixture
def tenant_id(uow: SqlUnitOfWork, unique_name: Callable[[str], str]) -> str:
    return tenants.create_tenant(uow, unique_name("tenant"), actor="test").id


def _call(
    tenant_id: str, key: str | None = None, body: bytes = b'{"label":"a"}'
) -> IdempotentRequest:
    return IdempotentRequest(
        tenant_id=tenant_id,
        key=key or f"key-{uuid.uuid4().hex}",
        method="POST",
        path="/v1/api-keys",
        request_sha256=idempotency.fingerprint(body),
    )


def _stored_error(error: PolisError) -> tuple[int, Any] | None:
    return 404, {"error": error.code}


class Counter:
    """An operation with a side effect in the database (a new API key), counted."""

    def __init__(self, factory: sessionmaker[Session], tenant_id: str, delay: float = 0.0) -> None:
        self.factory = factory
        self.tenant_id = tenant_id
        self.delay = delay
        self.runs = 0
        self._lock = threading.Lock()

    def __call__(self) -> tuple[int, Any]:
        with self._lock:
            self.runs += 1
        time.sleep(self.delay)
        view, _ = tenants.create_api_key(
            SqlUnitOfWork(self.factory), self.tenant_id, "idempotent", actor="test"
        )
        return 201, {"id": view.id}

    def keys_in_database(self) -> int:
        return len(tenants.list_api_keys(SqlUnitOfWork(self.factory), self.tenant_id))


def _execute(
    factory: sessionmaker[Session],
    call: IdempotentRequest,
    operation: Callable[[], tuple[int, Any]],
    **options: Any,
) -> Executed:
    return idempotency.execute(
        SqlUnitOfWork(factory), call, operation, error_response=_stored_error, **options
    )


def test_a_retry_replays_the_first_response_and_runs_nothing(
    factory: sessionmaker[Session], tenant_id: str
) -> None:
    counter = Counter(factory, tenant_id)
    call = _call(tenant_id)
    first = _execute(factory, call, counter)
    again = _execute(factory, call, counter)
    assert first == Executed(201, first.body, replayed=False)
    assert again == Executed(201, first.body, replayed=True)
    assert counter.runs == 1
    assert counter.keys_in_database() == 1


def test_eight_concurrent_retries_run_the_operation_once(
    factory: sessionmaker[Session], tenant_id: str
) -> None:
    counter = Counter(factory, tenant_id, delay=0.3)
    call = _call(tenant_id)
    barrier = threading.Barrier(8)

    def retry() -> Executed:
        barrier.wait(5)
        return _execute(factory, call, counter, wait_seconds=20)

    with ThreadPoolExecutor(8) as pool:
        results = [f.result(60) for f in [pool.submit(retry) for _ in range(8)]]
    assert counter.runs == 1
    assert counter.keys_in_database() == 1
    assert [r.replayed for r in results].count(False) == 1
    assert {(r.status_code, r.body["id"]) for r in results} == {(201, results[0].body["id"])}


def test_a_concurrent_retry_gets_409_in_progress_when_the_first_call_outlasts_the_wait(
    factory: sessionmaker[Session], tenant_id: str
) -> None:
    release = threading.Event()
    call = _call(tenant_id)

    def slow() -> tuple[int, Any]:
        release.wait(10)
        return 201, {"done": True}

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(_execute, factory, call, slow)
        deadline = time.monotonic() + 5
        while _row_status(factory, call) is None and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(IdempotencyInProgress) as caught:
            _execute(factory, call, slow, wait_seconds=0.1)
        assert caught.value.code == "idempotency.in_progress"
        assert caught.value.retry_after == 1
        release.set()
        assert first.result(10).body == {"done": True}
    assert _execute(factory, call, slow).replayed


def _row_status(factory: sessionmaker[Session], call: IdempotentRequest) -> str | None:
    uow = SqlUnitOfWork(factory)
    with uow:
        row = uow.idempotency.get(call.tenant_id, call.key)
        return None if row is None else row.status


def test_the_same_key_with_another_body_method_or_path_is_refused(
    factory: sessionmaker[Session], tenant_id: str
) -> None:
    counter = Counter(factory, tenant_id)
    call = _call(tenant_id)
    _execute(factory, call, counter)
    others = [
        _call(tenant_id, call.key, body=b'{"label":"b"}'),
        IdempotentRequest(tenant_id, call.key, "PUT", call.path, call.request_sha256),
        IdempotentRequest(tenant_id, call.key, "POST", "/v1/other", call.request_sha256),
    ]
    for other in others:
        with pytest.raises(IdempotencyKeyReused) as caught:
            _execute(factory, other, counter)
        assert caught.value.code == "idempotency.key_reused"
        assert caught.value.field == "Idempotency-Key"
    assert counter.runs == 1


def test_keys_belong_to_one_tenant(
    factory: sessionmaker[Session], tenant_id: str, unique_name: Callable[[str], str]
) -> None:
    other = tenants.create_tenant(SqlUnitOfWork(factory), unique_name("other"), actor="test").id
    key = f"key-{uuid.uuid4().hex}"
    mine = _execute(factory, _call(tenant_id, key), Counter(factory, tenant_id))
    theirs = _execute(factory, _call(other, key), Counter(factory, other))
    assert not mine.replayed
    assert not theirs.replayed
    assert mine.body != theirs.body


def test_a_key_expires_after_24_hours(factory: sessionmaker[Session], tenant_id: str) -> None:
    counter = Counter(factory, tenant_id)
    call = _call(tenant_id, body=b"{}")
    start = utc_now() - timedelta(days=2)
    _execute(factory, call, counter, now=lambda: start)
    just_before = start + idempotency.TTL - timedelta(seconds=1)
    assert _execute(factory, call, counter, now=lambda: just_before).replayed
    # expired: the key is free again, even for another body
    fresh = _execute(factory, _call(tenant_id, call.key, body=b'{"x":1}'), counter)
    assert not fresh.replayed
    assert counter.runs == 2
    assert counter.keys_in_database() == 2


def test_purge_deletes_expired_keys_only(factory: sessionmaker[Session], tenant_id: str) -> None:
    old, recent = _call(tenant_id), _call(tenant_id)
    now = utc_now()
    idempotency.reserve(SqlUnitOfWork(factory), old, now=now - timedelta(hours=25))
    idempotency.reserve(SqlUnitOfWork(factory), recent, now=now)
    assert idempotency.purge_expired(SqlUnitOfWork(factory), now=now) >= 1
    assert _row_status(factory, old) is None
    assert _row_status(factory, recent) == "in_progress"


def test_a_crash_releases_the_key_and_a_retry_runs_the_operation(
    factory: sessionmaker[Session], tenant_id: str
) -> None:
    counter = Counter(factory, tenant_id)
    call = _call(tenant_id)

    def crash() -> tuple[int, Any]:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        _execute(factory, call, crash)
    assert _row_status(factory, call) is None
    assert not _execute(factory, call, counter).replayed
    assert counter.runs == 1


def test_a_5xx_answer_releases_the_key(factory: sessionmaker[Session], tenant_id: str) -> None:
    call = _call(tenant_id)
    unavailable = _execute(factory, call, lambda: (503, {"error": "busy"}))
    assert unavailable == Executed(503, {"error": "busy"}, replayed=False)
    assert _row_status(factory, call) is None
    assert not _execute(factory, call, Counter(factory, tenant_id)).replayed


def test_a_4xx_error_is_stored_and_replayed(factory: sessionmaker[Session], tenant_id: str) -> None:
    runs = 0

    def missing() -> tuple[int, Any]:
        nonlocal runs
        runs += 1
        raise NotFound("no such policy", code="policy.not_found")

    call = _call(tenant_id)
    first = _execute(factory, call, missing)
    again = _execute(factory, call, missing)
    assert first == Executed(404, {"error": "policy.not_found"}, replayed=False)
    assert again == Executed(404, {"error": "policy.not_found"}, replayed=True)
    assert runs == 1


def test_an_error_the_caller_does_not_store_releases_the_key(
    factory: sessionmaker[Session], tenant_id: str
) -> None:
    call = _call(tenant_id)

    def transient() -> tuple[int, Any]:
        raise NotFound("try again", code="audit.concurrent_append")

    with pytest.raises(NotFound):
        idempotency.execute(SqlUnitOfWork(factory), call, transient, error_response=lambda _: None)
    assert _row_status(factory, call) is None


def test_completing_a_key_that_is_not_reserved_is_a_conflict(
    factory: sessionmaker[Session], tenant_id: str
) -> None:
    with pytest.raises(PolisError) as caught:
        idempotency.complete(SqlUnitOfWork(factory), tenant_id, "never-reserved", 201, {})
    assert caught.value.code == "conflict"


# --- pure helpers (no database needed, but cheap) -------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "   "])
def test_a_missing_key_is_refused_with_a_clear_code(key: str | None) -> None:
    with pytest.raises(InvalidInput) as caught:
        idempotency.check_key(key)
    assert caught.value.code == "idempotency.key_required"
    assert caught.value.field == "Idempotency-Key"


@pytest.mark.parametrize("key", ["has space", "é", "x" * 256, "tab\there"])
def test_a_malformed_key_is_refused(key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        idempotency.check_key(key)
    assert caught.value.code == "input.invalid"


def test_a_key_is_stripped() -> None:
    assert idempotency.check_key("  5f1c2a4e-8a0b  ") == "5f1c2a4e-8a0b"


def test_the_fingerprint_compares_json_canonically_and_other_bodies_exactly() -> None:
    same = idempotency.fingerprint(b'{"a": 1, "b": [1, 2]}')
    assert idempotency.fingerprint(b'{"b":[1,2],"a":1}') == same
    assert idempotency.fingerprint(b'{"a": 2, "b": [1, 2]}') != same
    assert idempotency.fingerprint(b'{"a": 1, "b": [1, 2]}', "x=1") != same
    assert idempotency.fingerprint(b"not json") != idempotency.fingerprint(b"not  json")
    assert idempotency.fingerprint(b"") == idempotency.fingerprint(b"")


def test_instants_must_be_aware(uow: SqlUnitOfWork, tenant_id: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        idempotency.reserve(uow, _call(tenant_id), now=datetime(2026, 1, 1))
    assert caught.value.field == "now"
