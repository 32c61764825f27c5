"""Idempotency keys: a creating call retried with the same ``Idempotency-Key`` runs once.

The protocol (``docs/api.md``, "Idempotency-Key"), for one tenant and one key:

1. :func:`reserve` — in its own committed transaction, insert the key as ``in_progress`` with the
   request's fingerprint (method, path, SHA-256 of the body). The unique ``(tenant_id, key)`` makes
   a concurrent duplicate lose: on PostgreSQL its insert waits for the winner's commit then fails,
   on SQLite writers are serialised; either way the loser then reads the winner's row.
   A key already there answers instead:

   - another fingerprint → :class:`IdempotencyKeyReused` (``idempotency.key_reused``, 422);
   - ``done`` → the stored response, to replay;
   - ``in_progress`` → :class:`IdempotencyInProgress` (``idempotency.in_progress``, 409).

2. the caller runs the operation (its own use case and unit of work);
3. :func:`complete` stores the response (``done``) — or :func:`release` deletes the reservation
   when the operation crashed or failed transiently, so that the client may simply retry.

:func:`execute` strings these together (the HTTP helper ``polis.api.idempotency.idempotent`` and
the CLI use it): a request that finds the key ``in_progress`` *waits* (polling, a few seconds at
most) for the first one to finish and replays its response; only if it is still running after the
wait does it answer 409 with ``Retry-After``. So N concurrent retries all get the same answer, and
the operation ran once.

:func:`execute_atomic` is the same contract in one transaction, for operations that can run inside
the caller's unit of work (the activation): the key is claimed by the transaction's first
statement (``INSERT … ON CONFLICT DO NOTHING``), the operation runs, its response is stored, and
all of it commits at once — so there is no window where the operation committed but its response
was not stored, and a concurrent retry simply waits on the key's row for the first transaction to
end (PostgreSQL; SQLite serialises writers), then replays the response.

Keys live 24 hours (:data:`TTL`); an expired key is taken over by the next request that uses it
(and :func:`purge_expired` deletes old rows). One window remains, inherent to an operation that
commits its own transaction: if the process dies after the operation committed and before the
response was stored, the key stays ``in_progress`` (409) until it expires — never re-run.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from polis.kernel.errors import Conflict, InvalidInput, PolisError
from polis.kernel.time import ensure_utc, utc_now
from polis.store.tables_platform import IdempotencyKeyRow
from polis.store.uow import UnitOfWork

__all__ = [
    "DONE",
    "HEADER",
    "IN_PROGRESS",
    "TTL",
    "Executed",
    "IdempotencyInProgress",
    "IdempotencyKeyReused",
    "IdempotentRequest",
    "StoredResponse",
    "check_key",
    "complete",
    "execute",
    "execute_atomic",
    "fingerprint",
    "purge_expired",
    "release",
    "reserve",
]

HEADER = "Idempotency-Key"
IN_PROGRESS = "in_progress"
DONE = "done"
TTL = timedelta(hours=24)
#: printable ASCII without spaces, 1…255 characters (a UUID is the usual choice)
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_ATTEMPTS = 5


class IdempotencyKeyReused(InvalidInput):
    """The key was used before for another request (other body, method or path)."""

    code: ClassVar[str] = "idempotency.key_reused"


class IdempotencyInProgress(Conflict):
    """The first request with this key is still running; retry after ``retry_after`` seconds."""

    code: ClassVar[str] = "idempotency.in_progress"

    @property
    def retry_after(self) -> int:
        value = self.data.get("retry_after", 1)
        return int(value) if isinstance(value, int | float) else 1


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """What identifies a call: the tenant, its key, and the fingerprint of the request."""

    tenant_id: str
    key: str
    method: str
    path: str
    request_sha256: str


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A finished call's response: HTTP-like status code and JSON body."""

    status_code: int
    body: Any


@dataclass(frozen=True, slots=True)
class Executed:
    """The answer of :func:`execute`: the response and whether it is a replay."""

    status_code: int
    body: Any
    replayed: bool


def check_key(key: str | None) -> str:
    """The key, checked: required, printable ASCII without spaces, 1…255 characters."""
    if key is None or not key.strip():
        raise InvalidInput(
            f"the {HEADER} header is required on creating calls (a unique value per operation, "
            "e.g. a UUID; send the same value when retrying)",
            field=HEADER,
            code="idempotency.key_required",
        )
    key = key.strip()
    if not _KEY.match(key):
        raise InvalidInput(
            f"the {HEADER} must be 1 to 255 printable ASCII characters without spaces",
            field=HEADER,
        )
    return key


def fingerprint(body: bytes, query: str = "") -> str:
    """SHA-256 (hex) of the request: the query string and the body.

    A JSON body is canonicalised first (sorted keys, no whitespace), so that re-serialising the
    same JSON on a retry does not count as another request; any other body is hashed as sent.
    """
    canonical = body
    if body.strip():
        try:
            canonical = json.dumps(
                json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode("utf-8")
        except (UnicodeDecodeError, ValueError):
            canonical = body
    digest = hashlib.sha256()
    digest.update(query.encode("utf-8"))
    digest.update(b"\n")
    digest.update(canonical)
    return digest.hexdigest()


def reserve(
    uow: UnitOfWork, request: IdempotentRequest, *, now: datetime | None = None
) -> StoredResponse | None:
    """Reserve the key for ``request`` (``None``: go ahead) or return the response to replay.

    Raises :class:`IdempotencyKeyReused` or :class:`IdempotencyInProgress` (module doc).
    """
    now = ensure_utc(now if now is not None else utc_now(), field="now")
    fresh = _row(request, now)
    for _ in range(_ATTEMPTS):
        with uow:
            row = uow.idempotency.get(request.tenant_id, request.key)
            if row is None:
                if uow.idempotency.try_insert(fresh):
                    uow.commit()
                    return None
                continue  # a concurrent request inserted it first: read theirs
            if row.expires_at <= now:
                if uow.idempotency.take_over_expired(fresh, now):
                    uow.commit()
                    return None
                continue
            return _existing(row, fresh)
    raise IdempotencyInProgress(  # pragma: no cover - needs a key taken and freed five times over
        "the request with this idempotency key is being processed; retry shortly",
        field=HEADER,
        retry_after=1,
    )


def _row(
    request: IdempotentRequest, now: datetime, response: StoredResponse | None = None
) -> IdempotencyKeyRow:
    return IdempotencyKeyRow(
        tenant_id=request.tenant_id,
        key=request.key,
        method=request.method.upper()[:10],
        path=request.path[:500],
        request_sha256=request.request_sha256,
        status=IN_PROGRESS if response is None else DONE,
        response_status=None if response is None else response.status_code,
        response_body=None if response is None else _json(response.body),
        created_at=now,
        expires_at=now + TTL,
    )


def _json(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _existing(row: IdempotencyKeyRow, fresh: IdempotencyKeyRow) -> StoredResponse:
    same = (
        row.method == fresh.method
        and row.path == fresh.path
        and row.request_sha256 == fresh.request_sha256
    )
    if not same:
        raise IdempotencyKeyReused(
            f"this {HEADER} was already used for a different request ({row.method} {row.path} "
            "with another body); use a new key for a new operation",
            field=HEADER,
        )
    if row.status != DONE or row.response_status is None:
        raise IdempotencyInProgress(
            "the first request with this idempotency key is still being processed; retry shortly",
            field=HEADER,
            retry_after=1,
        )
    body = json.loads(row.response_body) if row.response_body is not None else None
    return StoredResponse(row.response_status, body)


def complete(
    uow: UnitOfWork,
    tenant_id: str,
    key: str,
    status_code: int,
    body: Any,
    *,
    now: datetime | None = None,
) -> None:
    """Store the response of the reserved call (``done``); ``body`` must be JSON-serialisable."""
    text = _json(body)
    now = ensure_utc(now if now is not None else utc_now(), field="now")
    with uow:
        if not uow.idempotency.complete(tenant_id, key, status_code, text, now):
            raise Conflict(
                "this idempotency key is not reserved any more", field=HEADER, code="conflict"
            )
        uow.commit()


def release(uow: UnitOfWork, tenant_id: str, key: str) -> None:
    """Delete the reservation of an unfinished call (the client may retry with the same key)."""
    with uow:
        uow.idempotency.release(tenant_id, key)
        uow.commit()


def purge_expired(uow: UnitOfWork, *, now: datetime | None = None) -> int:
    """Delete the keys that expired; returns how many."""
    now = ensure_utc(now if now is not None else utc_now(), field="now")
    with uow:
        count = uow.idempotency.purge_expired(now)
        uow.commit()
    return count


def execute(
    uow: UnitOfWork,
    request: IdempotentRequest,
    operation: Callable[[], tuple[int, Any]],
    *,
    error_response: Callable[[PolisError], tuple[int, Any] | None],
    wait_seconds: float = 5.0,
    now: Callable[[], datetime] = utc_now,
) -> Executed:
    """Run ``operation`` once for ``request``; replay its stored response on retries.

    ``operation`` returns ``(status code, JSON-serialisable body)``. A status of 500 or more
    releases the key instead of storing the response. A :class:`PolisError` it raises goes through
    ``error_response``: a ``(status, body)`` is stored and returned like a response (so a retry gets
    the same error); ``None`` releases the key and re-raises. Any other exception releases the key
    and propagates. A request that finds the key ``in_progress`` polls for up to ``wait_seconds``,
    then raises :class:`IdempotencyInProgress`.
    """
    deadline = time.monotonic() + wait_seconds
    pause = 0.02
    while True:
        try:
            stored = reserve(uow, request, now=now())
        except IdempotencyInProgress:
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)
            continue
        if stored is not None:
            return Executed(stored.status_code, stored.body, replayed=True)
        break
    try:
        status_code, body = operation()
    except PolisError as e:
        mapped = error_response(e)
        if mapped is None:
            release(uow, request.tenant_id, request.key)
            raise
        status_code, body = mapped
    except BaseException:
        release(uow, request.tenant_id, request.key)
        raise
    if status_code >= 500:
        release(uow, request.tenant_id, request.key)
        return Executed(status_code, body, replayed=False)
    # from here on the operation has run: never release (a retry must not run it again)
    complete(uow, request.tenant_id, request.key, status_code, body, now=now())
    return Executed(status_code, body, replayed=False)


def execute_atomic(
    uow: UnitOfWork,
    request: IdempotentRequest,
    operation: Callable[[UnitOfWork], tuple[int, Any]],
    *,
    error_response: Callable[[PolisError], tuple[int, Any] | None],
    wait_seconds: float = 5.0,
    now: Callable[[], datetime] = utc_now,
) -> Executed:
    """:func:`execute` in one transaction: ``operation`` runs inside ``uow``, already open, after
    the key was claimed, and must not commit; its response is stored and committed with its work.

    A status of 500 or more, or an exception, rolls everything back (the key included). A
    :class:`PolisError` mapped by ``error_response`` rolls the work back and stores the mapped
    response under the key in a transaction of its own (a retry gets the same error).
    """
    deadline = time.monotonic() + wait_seconds
    pause = 0.02
    while True:
        moment = ensure_utc(now(), field="now")
        fresh = _row(request, moment)
        failure: tuple[int, Any] | None = None
        with uow:
            if uow.idempotency.claim(fresh, moment):
                try:
                    status_code, body = operation(uow)
                except PolisError as e:
                    failure = error_response(e)
                    if failure is None:
                        raise
                else:
                    if status_code >= 500:
                        return Executed(status_code, body, replayed=False)
                    uow.idempotency.complete_claimed(
                        request.tenant_id, request.key, status_code, _json(body), moment
                    )
                    uow.commit()
                    return Executed(status_code, body, replayed=False)
            else:
                row = uow.idempotency.get(request.tenant_id, request.key)
                stored = None if row is None else _replay_or_wait(row, fresh, deadline, pause)
                if stored is not None:
                    return Executed(stored.status_code, stored.body, replayed=True)
        if failure is not None:
            return _store_failure(uow, request, failure, moment)
        time.sleep(pause)  # a row of the two-step protocol still in progress, or just released
        pause = min(pause * 2, 0.25)


def _replay_or_wait(
    row: IdempotencyKeyRow, fresh: IdempotencyKeyRow, deadline: float, pause: float
) -> StoredResponse | None:
    """The stored response of ``row``; ``None`` to try again after ``pause``; raises
    :class:`IdempotencyInProgress` once the deadline would pass, or ``IdempotencyKeyReused``."""
    try:
        return _existing(row, fresh)
    except IdempotencyInProgress:
        if time.monotonic() + pause > deadline:
            raise
        return None


def _store_failure(
    uow: UnitOfWork, request: IdempotentRequest, failure: tuple[int, Any], now: datetime
) -> Executed:
    """Keep a refused operation's answer under its key; if a concurrent call stored one first,
    answer theirs."""
    status_code, body = failure
    with uow:
        if uow.idempotency.claim(_row(request, now, StoredResponse(status_code, body)), now):
            uow.commit()
            return Executed(status_code, body, replayed=False)
        row = uow.idempotency.get(request.tenant_id, request.key)
        if row is None or row.status != DONE or row.response_status is None:
            return Executed(status_code, body, replayed=False)
        stored = _existing(row, _row(request, now))  # read inside: leaving rolls back and expires
    return Executed(stored.status_code, stored.body, replayed=True)
