"""The shipped Alembic migrations, applied from code on both backends."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from polis.store import current_revision, downgrade, head_revision, make_engine, upgrade
from polis.store.tables import Base

pytestmark = pytest.mark.db

TABLES = {
    "tenants",
    "id_counters",
    "api_keys",
    "audit_log",
    "policies",
    "claims",
    "claim_evidence",
    "claim_offers",
    "claim_ledger",
    "idempotency_keys",
    "outbox",
    "webhook_endpoints",
    "webhook_deliveries",
    "ondemand_customers",
    "ondemand_subscriptions",
    "ondemand_windows",
    "ondemand_ledger",
    "ondemand_certificates",
    "ondemand_certificate_pdfs",
    "ondemand_signing_keys",
    "ondemand_calendars",
    "ondemand_missions",
    "ondemand_geofences",
    "ondemand_trackers",
    "ondemand_partner_refs",
    "ondemand_reminders",
}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_migrated_database_is_at_the_head_revision(database_url: str) -> None:
    assert head_revision() == "0007"
    assert current_revision(database_url) == head_revision()


def test_every_table_exists(database_url: str) -> None:
    assert _tables(database_url) >= TABLES


def test_the_models_agree_with_the_migrations(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_downgrade_to_base_then_upgrade_again(fresh_database_url: str) -> None:
    url = fresh_database_url
    assert current_revision(url) is None
    upgrade(url)
    assert current_revision(url) == head_revision()
    assert _tables(url) >= TABLES
    downgrade(url, "base")
    assert current_revision(url) is None
    assert _tables(url) & TABLES == set()
    upgrade(url)
    assert current_revision(url) == head_revision()
    assert _tables(url) >= TABLES
