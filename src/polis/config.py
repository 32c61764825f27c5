"""Configuration: one ``Settings`` object built in each entrypoint and passed down.

Every setting reads from the environment with the prefix ``POLIS_`` (and from a ``.env`` file in the
working directory when present). Nothing here connects or reads at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Polis settings (environment variables ``POLIS_<NAME>``)."""

    model_config = SettingsConfigDict(
        env_prefix="POLIS_", env_file=".env", extra="ignore", frozen=True
    )

    database_url: str = Field(
        default="sqlite:///var/polis.db",
        description="SQLAlchemy URL; PostgreSQL as postgresql+psycopg://user@host:5432/db",
    )
    data_dir: Path | None = Field(
        default=None, description="reference data (mortality tables, freMTPL2); ../shared/data here"
    )
    var_dir: Path = Field(
        default=Path("var"), description="local state: the embedded database, keys, uploads"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    default_locale: Literal["fr", "en"] = "fr"
    migrate_on_start: bool = Field(
        default=True, description="apply migrations at server start (embedded SQLite default only)"
    )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
