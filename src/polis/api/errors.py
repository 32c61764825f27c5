"""The one place where errors become HTTP responses.

Every 4xx (and 5xx) response has the shape of contracts.md:
``{"error": {"code": "...", "message": "...", "field": "..."|null}}``, plus the request id.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from polis.calc._base import field_path
from polis.kernel.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PolisError,
    Unauthenticated,
)
from polis.logs import get_logger
from polis.services.claim_evidence import EvidenceTooLarge, EvidenceTypeRefused

__all__ = ["STATUS_BY_ERROR", "error_body", "install_error_handlers", "status_for"]

log = get_logger("polis.api")

#: error class → HTTP status (first match in the class's MRO wins)
STATUS_BY_ERROR: dict[type[PolisError], int] = {
    EvidenceTooLarge: 413,
    EvidenceTypeRefused: 415,
    InvalidInput: 422,
    NotFound: 404,
    Conflict: 409,
    Unauthenticated: 401,
    Forbidden: 403,
}

_HTTP_CODES = {
    400: "request.bad",
    401: "auth.unauthenticated",
    403: "auth.forbidden",
    404: "route.not_found",
    405: "route.method_not_allowed",
    409: "conflict",
    413: "request.too_large",
    415: "request.unsupported_media_type",
    422: "input.invalid",
    429: "request.rate_limited",
}


def status_for(error: PolisError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[cls]
    return 400


def error_body(code: str, message: str, field: str | None, request: Request) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": message, "field": field},
        "request_id": getattr(request.state, "request_id", None),
    }


def _polis_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PolisError)
    status = status_for(exc)
    headers = {"WWW-Authenticate": "ApiKey"} if status == 401 else None
    return JSONResponse(
        error_body(exc.code, exc.message, exc.field, request), status_code=status, headers=headers
    )


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0]
    loc = tuple(first.get("loc", ()))
    if loc and loc[0] in {"body", "query", "path", "header"}:
        loc = loc[1:]
    message = str(first.get("msg", "invalid value"))
    if first.get("type") == "extra_forbidden":
        message = "unknown field (not part of the request shape)"
    elif first.get("type") == "missing":
        message = "this field is required"
    elif first.get("type") == "json_invalid":
        message = "the body is not valid JSON"
    body = error_body("input.invalid", message, field_path(loc), request)
    return JSONResponse(body, status_code=422)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http.{exc.status_code}")
    return JSONResponse(
        error_body(code, str(exc.detail), None, request),
        status_code=exc.status_code,
        headers=exc.headers,
    )


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # the outermost boundary: log with the request id, never leak a traceback to the caller
    log.exception("unhandled error", error=type(exc).__name__)
    body = error_body("internal", "internal error; quote the request id", None, request)
    return JSONResponse(body, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PolisError, _polis_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
