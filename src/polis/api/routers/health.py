"""Liveness and readiness: ``GET /health``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from polis import __version__
from polis.store import current_revision, head_revision

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    version: str
    database: Literal["ok", "unreachable", "not_migrated"]
    revision: str | None
    head: str


@router.get("/health", response_model=Health, summary="Is Polis up, and is its database ready?")
def health(request: Request) -> Health:
    engine = request.app.state.engine
    revision: str | None = None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revision = current_revision(engine.url.render_as_string(hide_password=False))
        database: Literal["ok", "unreachable", "not_migrated"] = (
            "ok" if revision == head_revision() else "not_migrated"
        )
    except SQLAlchemyError:
        database = "unreachable"
    return Health(
        status="ok" if database == "ok" else "degraded",
        version=__version__,
        database=database,
        revision=revision,
        head=head_revision(),
    )
