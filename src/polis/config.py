"""Configuration: one ``Settings`` object built in each entrypoint and passed down.

Every setting reads from the environment with the prefix ``POLIS_`` (and from a ``.env`` file in the
working directory when present). Nothing here connects or reads at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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
    evidence_dir: Path | None = Field(
        default=None,
        description="claim evidence files, as <dir>/<tenant>/<claim>/<sha256>; <var_dir>/evidence "
        "when unset",
    )
    evidence_max_bytes: int = Field(
        default=10 * 1024 * 1024, ge=1, description="largest evidence file accepted (bytes)"
    )
    evidence_types: tuple[str, ...] = Field(
        default=("image/jpeg", "image/png", "image/webp", "image/heic", "application/pdf"),
        description="evidence content types accepted (recognised by their magic bytes)",
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="key signing the web session cookies; random per process when unset",
    )
    certificate_signing_key: str | None = Field(
        default=None,
        repr=False,
        description="Ed25519 private key signing certificates (PEM, or base64 of the 32-byte seed "
        "or PKCS#8 DER); generated into <var_dir>/keys on the embedded SQLite default only",
    )
    public_base_url: str = Field(
        default="http://localhost:8000",
        description="public address of this server, printed in certificate QR codes (/verify/...)",
    )

    mail_backend: Literal["console", "file", "smtp"] = Field(
        default="file",
        description="how e-mail leaves: printed (console), written as .eml files (file) or SMTP",
    )
    mail_dir: Path | None = Field(
        default=None,
        description="where the file backend writes .eml files; <var_dir>/mail when unset",
    )
    mail_from: str = Field(
        default="Polis <no-reply@localhost>", description="the From address of e-mail sent"
    )
    smtp_host: str | None = Field(default=None, description="SMTP server (mail_backend=smtp)")
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = Field(default=None, repr=False)
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls", description="STARTTLS on the plain port, implicit TLS, or none"
    )
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="time allowed to one webhook POST (connect and each read)"
    )
    webhook_max_attempts: int = Field(
        default=12, ge=1, le=50, description="attempts before a webhook delivery is dead"
    )
    webhook_backoff_base_seconds: float = Field(
        default=30.0, gt=0, description="ceiling of the first retry delay (doubles each attempt)"
    )
    webhook_backoff_cap_seconds: float = Field(
        default=6 * 3600.0, gt=0, description="largest retry delay"
    )
    webhooks_allow_private: bool = Field(
        default=False,
        description="allow webhook URLs whose host is or resolves to a loopback, private, "
        "link-local or otherwise non-public address (development: local receivers only; refused "
        "by default, at registration and before every delivery, against server-side request "
        "forgery)",
    )
    webhook_worker_in_process: bool | None = Field(
        default=None,
        description="deliver webhooks from a background task of the server; unset: on for the "
        "embedded SQLite default, off on PostgreSQL (run `polis webhooks deliver` instead)",
    )
    webhook_worker_interval_seconds: float = Field(
        default=5.0, gt=0, description="pause between two rounds of the webhook worker"
    )
    api_key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="how long a server process trusts an API key it read from the database "
        "(a key revoked elsewhere stops working within this time; 0: read it on every request)",
    )
    activation_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="activations (and extensions) one server process runs at once; the others "
        "wait their turn (those of a tenant queue on its audit chain's lock anyway). Default: 2 "
        "on PostgreSQL, 1 on SQLite (one writer: a second activation would only wait on SQLite's "
        "lock, whose retries are unfair — p99 1.1–2.7 s instead of 0.33 s at 16 clients)",
    )
    jobs_in_process: bool | None = Field(
        default=None,
        description="run the periodic jobs (webhook deliveries, window expiry, geofence ticks, "
        "partner orphan stops, reminders, calendar re-sync) in a background task of the server; "
        "unset: like webhook_worker_in_process (on for the embedded SQLite default, off on "
        "PostgreSQL: run `polis worker`)",
    )
    worker_interval_seconds: float = Field(
        default=5.0, gt=0, description="pause between two ticks of the jobs (`polis worker`)"
    )
    calendar_resync_minutes: int = Field(
        default=60,
        ge=1,
        le=7 * 24 * 60,
        description="the jobs fetch a calendar URL again at most every so many minutes",
    )
    partner_orphan_stop_hours: float = Field(
        default=24.0,
        gt=0,
        le=24 * 30,
        description="a partner's stop still without its start after so many hours is flagged",
    )
    insurer_name: str = Field(
        default="Polis Assurances (démonstration)",
        description="the insurer named on certificates of insurance",
    )
    insurer_address: str = Field(
        default="1 place de la Bourse, 75002 Paris", description="its registered address"
    )
    insurer_registration: str = Field(
        default="Entreprise régie par le Code des assurances — démonstration, sans valeur "
        "contractuelle",
        description="its registration (RCS, ACPR/REGAFI…), printed on certificates",
    )
    calendar_fetch_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="time allowed to fetch an ICS calendar URL"
    )
    calendar_max_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1024, description="largest ICS calendar accepted (bytes)"
    )
    calendar_fetch_allow_private: bool = Field(
        default=False,
        description="allow calendar URLs that resolve to private or loopback addresses "
        "(development only: refused by default against server-side request forgery)",
    )
    verify_rate_per_minute: int = Field(
        default=60,
        ge=0,
        le=100_000,
        description="public certificate checks (/v1/certificates/…/verify, /verify pages) allowed "
        "per client address and minute, refilled continuously; 0: no limit",
    )
    verify_burst: int | None = Field(
        default=None,
        ge=1,
        le=100_000,
        description="checks a client may make at once (the bucket's size); unset: the rate per "
        "minute",
    )
    trusted_proxy_hops: int = Field(
        default=0,
        ge=0,
        le=10,
        description="reverse proxies in front of Polis that append the client address to "
        "X-Forwarded-For; the client is the address that many entries from the right. 0: the "
        "header is ignored (it is the client's to forge) and the connection's address is used",
    )
    trigger_max_backdate_hours: int = Field(
        default=24,
        ge=0,
        le=24 * 7,
        description="how far in the past a geofence ping or a partner event may date cover",
    )

    @property
    def mail_root(self) -> Path:
        """Where the file mail backend writes: ``mail_dir``, else ``<var_dir>/mail``."""
        return self.mail_dir if self.mail_dir is not None else self.var_dir / "mail"

    @property
    def runs_webhook_worker(self) -> bool:
        """Whether the server delivers webhooks itself (see ``webhook_worker_in_process``)."""
        if self.webhook_worker_in_process is None:
            return self.is_sqlite
        return self.webhook_worker_in_process

    @property
    def runs_jobs_in_process(self) -> bool:
        """Whether the server runs every periodic job itself (see ``jobs_in_process``)."""
        if self.jobs_in_process is None:
            return self.runs_webhook_worker
        return self.jobs_in_process

    @property
    def evidence_root(self) -> Path:
        """Where evidence files live: ``evidence_dir``, else ``<var_dir>/evidence``."""
        return self.evidence_dir if self.evidence_dir is not None else self.var_dir / "evidence"

    @property
    def activation_slots(self) -> int:
        """``activation_concurrency``, or its default for the database (see the field)."""
        if self.activation_concurrency is not None:
            return self.activation_concurrency
        return 1 if self.is_sqlite else 2

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
