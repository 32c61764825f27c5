"""``Idempotency-Key`` for creating calls: the helper every creating route wraps its work in.

Usage in a router (a plain ``def`` route: FastAPI runs it in a worker thread)::

    @router.post("/windows", status_code=201, response_model=WindowView,
                 responses=IDEMPOTENCY_RESPONSES)
    def activate(body: WindowIn, principal: CurrentPrincipal, request: Request,
                 idempotency_key: IdempotencyKey = None) -> Response:
        return idempotent(
            request, principal,
            lambda: (201, windows.activate(new_uow(request), principal.tenant_id, body, ...)),
        )

The operation returns ``(status code, body)``; the body may be a Pydantic model, a dataclass or
anything ``jsonable_encoder`` takes. The answer carries ``Idempotent-Replayed: false`` the first
time and ``true`` on a replay. The rules (``docs/api.md``, "Idempotency-Key"; the mechanics are in
``polis.services.idempotency``):

- the header is required: missing → 422 ``idempotency.key_required``;
- same key, same method, path, query and body (JSON compared canonically) → the stored response,
  status and body, without running the operation again;
- same key, another request → 422 ``idempotency.key_reused``;
- a retry while the first call still runs waits for it (a few seconds) and replays its answer;
  after the wait, 409 ``idempotency.in_progress`` with ``Retry-After``;
- a 4xx Polis error of the operation is stored and replayed like a response; a 5xx, a crash, or a
  transient conflict (``audit.concurrent_append``) releases the key: retrying runs the operation;
- keys are per tenant and live 24 hours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import anyio.from_thread
from fastapi import Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from polis.api.deps import new_uow
from polis.api.errors import error_body, status_for
from polis.kernel.errors import PolisError
from polis.services import audit, idempotency
from polis.services.idempotency import (
    HEADER,
    Executed,
    IdempotencyInProgress,
    IdempotentRequest,
)
from polis.services.tenants import Principal
from polis.store.uow import UnitOfWork

__all__ = [
    "IDEMPOTENCY_RESPONSES",
    "REPLAYED_HEADER",
    "TRANSIENT_CODES",
    "IdempotencyKey",
    "idempotent",
    "idempotent_atomic",
]

REPLAYED_HEADER = "Idempotent-Replayed"
#: error codes that mean "try again", not "this request is wrong": never stored
TRANSIENT_CODES = frozenset({"audit.concurrent_append", "idempotency.in_progress"})
_WAIT_SECONDS = 5.0

#: declare it on a creating route so that OpenAPI documents the header
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        description="a unique value per operation (e.g. a UUID), sent again unchanged on a retry: "
        "the operation runs once and retries get the same answer (24 hours)",
        examples=["5f1c2a4e-8a0b-4c3e-9f57-2b8d1f0e6a91"],
    ),
]

#: extra OpenAPI responses of a creating route
IDEMPOTENCY_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "`idempotency.in_progress`: the first request with this key is still "
        "running; retry after `Retry-After` seconds",
    },
    422: {
        "description": "`idempotency.key_required` (no `Idempotency-Key`), "
        "`idempotency.key_reused` (the key was used for another request), `input.invalid`",
    },
}


def idempotent(
    request: Request,
    principal: Principal,
    operation: Callable[[], tuple[int, Any]],
    *,
    wait_seconds: float = _WAIT_SECONDS,
) -> Response:
    """Run ``operation`` at most once per ``Idempotency-Key`` of the tenant (module doc)."""
    call = _call_of(request, principal)

    def encoded() -> tuple[int, Any]:
        status_code, payload = operation()
        return status_code, _encoded(payload)

    try:
        executed = idempotency.execute(
            new_uow(request),
            call,
            encoded,
            error_response=_error_response(request),
            wait_seconds=wait_seconds,
        )
    except IdempotencyInProgress as e:
        return _in_progress(request, e)
    return _response(request, executed)


def idempotent_atomic(
    request: Request,
    principal: Principal,
    operation: Callable[[UnitOfWork], tuple[int, Any]],
    *,
    wait_seconds: float = _WAIT_SECONDS,
) -> Response:
    """:func:`idempotent` for an operation that runs inside the unit of work it is given, without
    committing: the key, the operation's writes and the stored response commit together
    (``polis.services.idempotency.execute_atomic``). A transient conflict
    (``audit.concurrent_append``) rolls all of it back and runs it again, a few times at most."""
    call = _call_of(request, principal)

    def encoded(uow: UnitOfWork) -> tuple[int, Any]:
        status_code, payload = operation(uow)
        return status_code, _encoded(payload)

    try:
        executed = audit.retrying(
            lambda: idempotency.execute_atomic(
                new_uow(request),
                call,
                encoded,
                error_response=_error_response(request),
                wait_seconds=wait_seconds,
            )
        )
    except IdempotencyInProgress as e:
        return _in_progress(request, e)
    return _response(request, executed)


def _encoded(payload: Any) -> Any:
    """The JSON shape of an answer: a Pydantic model dumped by pydantic-core (as
    ``jsonable_encoder`` would, field aliases included, without walking the result again)."""
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="json", by_alias=True)
    return jsonable_encoder(payload)


def _call_of(request: Request, principal: Principal) -> IdempotentRequest:
    key = idempotency.check_key(request.headers.get(HEADER))
    return IdempotentRequest(
        tenant_id=principal.tenant_id,
        key=key,
        method=request.method,
        path=request.url.path,
        request_sha256=idempotency.fingerprint(_body_of(request), request.url.query),
    )


def _error_response(request: Request) -> Callable[[PolisError], tuple[int, Any] | None]:
    def error_response(error: PolisError) -> tuple[int, Any] | None:
        status_code = status_for(error)
        if status_code >= 500 or error.code in TRANSIENT_CODES:
            return None
        return status_code, error_body(error.code, error.message, error.field, request)

    return error_response


def _in_progress(request: Request, error: IdempotencyInProgress) -> Response:
    return JSONResponse(
        error_body(error.code, error.message, error.field, request),
        status_code=409,
        headers={"Retry-After": str(error.retry_after)},
    )


def _response(request: Request, executed: Executed) -> Response:
    headers = {REPLAYED_HEADER: "true" if executed.replayed else "false"}
    content = executed.body
    if executed.replayed and isinstance(content, dict) and "request_id" in content:
        content = {**content, "request_id": getattr(request.state, "request_id", None)}
    if executed.status_code == 204 or (content is None and executed.status_code < 300):
        return Response(status_code=executed.status_code, headers=headers)
    return JSONResponse(content, status_code=executed.status_code, headers=headers)


def _body_of(request: Request) -> bytes:
    """The raw body: FastAPI has read it already for the route's body parameter; otherwise it is
    read here (from the worker thread of a sync route)."""
    cached = getattr(request, "_body", None)
    if isinstance(cached, bytes):
        return cached
    try:
        return anyio.from_thread.run(request.body)
    except RuntimeError as e:  # pragma: no cover - a misuse, caught in development
        raise RuntimeError(
            "idempotent() must be called from a plain `def` route (it runs in a worker thread)"
        ) from e
