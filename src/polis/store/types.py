"""Column types shared by the tables.

``UTCDateTime`` keeps the rule of ``polis.kernel.time``: an instant is a timezone-aware UTC
``datetime``. Naive datetimes are refused when bound, and every value read back is aware UTC, on
SQLite (which stores text without an offset) as on PostgreSQL (``timestamp with time zone``).

The refusal is a last line of defence: SQLAlchemy wraps it in ``sqlalchemy.exc.StatementError``
(whose ``orig`` is the ``InvalidInput``). Services check instants from the outside with
``polis.kernel.time.ensure_utc`` first, which raises ``InvalidInput`` naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from polis.kernel.errors import InvalidInput

__all__ = ["UTCDateTime"]


class UTCDateTime(TypeDecorator[datetime]):
    """An instant stored in UTC and read back as an aware UTC ``datetime``."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes; convert to UTC (offset dropped on SQLite, which keeps text)."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise InvalidInput(f"an instant (datetime) is expected, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidInput("a naive datetime cannot be stored: a time zone is required")
        instant = value.astimezone(UTC)
        return instant.replace(tzinfo=None) if dialect.name == "sqlite" else instant

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Return an aware UTC ``datetime`` (SQLite values are UTC by construction)."""
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - the driver parses the text
            raise TypeError(f"unexpected stored instant: {value!r}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        return datetime
