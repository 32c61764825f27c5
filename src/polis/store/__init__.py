"""The store adapter: SQLAlchemy engines and sessions, tables, repositories, unit of work, and the
Alembic migrations (applied from code with :func:`upgrade`)."""

from polis.store.engine import make_engine, session_factory
from polis.store.migrate import current_revision, downgrade, head_revision, upgrade
from polis.store.types import UTCDateTime
from polis.store.uow import SqlUnitOfWork, UnitOfWork

__all__ = [
    "SqlUnitOfWork",
    "UTCDateTime",
    "UnitOfWork",
    "current_revision",
    "downgrade",
    "head_revision",
    "make_engine",
    "session_factory",
    "upgrade",
]
