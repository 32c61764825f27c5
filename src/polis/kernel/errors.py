"""The error root of Polis and its stable codes.

Every error Polis raises on purpose derives from :class:`PolisError` and carries a stable ``code``
(never renumbered or reused), a human message, and, where the error is about an input, the ``field``
it names. Entrypoints translate errors to HTTP statuses, HTML pages and CLI exit codes in exactly one
place each (``polis.api.errors``, ``polis.web``, ``polis.cli``).

Hierarchy::

    PolisError                      code "polis.error"
    ├── InvalidInput                code "input.invalid"          (HTTP 422, exit 2)
    │   └── ReferenceDataMissing    code "data.missing"           (HTTP 422, exit 2)
    ├── NotFound                    code "<entity>.not_found"     (HTTP 404, exit 1)
    ├── Conflict                    code "conflict"               (HTTP 409, exit 1)
    │   └── IllegalTransition       code "state.illegal_transition"
    ├── Unauthenticated             code "auth.unauthenticated"   (HTTP 401, exit 1)
    └── Forbidden                   code "auth.forbidden"         (HTTP 403, exit 1)
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "Conflict",
    "Forbidden",
    "IllegalTransition",
    "InvalidInput",
    "NotFound",
    "PolisError",
    "ReferenceDataMissing",
    "Unauthenticated",
]


class PolisError(Exception):
    """Root of every error Polis raises on purpose."""

    code: ClassVar[str] = "polis.error"

    def __init__(
        self, message: str, *, field: str | None = None, code: str | None = None, **data: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.data = data
        if code is not None:
            self.code = code  # type: ignore[misc]

    def to_dict(self) -> dict[str, Any]:
        """The error shape of ``contracts.md``: ``{"code", "message", "field"}``."""
        return {"code": self.code, "message": self.message, "field": self.field}

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class InvalidInput(PolisError):
    """The caller sent something Polis cannot use; ``field`` names where."""

    code: ClassVar[str] = "input.invalid"


class ReferenceDataMissing(InvalidInput):
    """Reference data (``POLIS_DATA_DIR``) needed by a calculation is absent."""

    code: ClassVar[str] = "data.missing"


class NotFound(PolisError):
    """A thing that was asked for does not exist (or belongs to another tenant)."""

    code: ClassVar[str] = "not_found"


class Conflict(PolisError):
    """The request clashes with the current state."""

    code: ClassVar[str] = "conflict"


class IllegalTransition(Conflict):
    """A status change that the transition table does not allow."""

    code: ClassVar[str] = "state.illegal_transition"


class Unauthenticated(PolisError):
    """No valid credentials were presented."""

    code: ClassVar[str] = "auth.unauthenticated"


class Forbidden(PolisError):
    """Credentials are valid but do not allow this."""

    code: ClassVar[str] = "auth.forbidden"
