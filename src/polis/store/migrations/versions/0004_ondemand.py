"""On-demand micro-policies: customers, subscriptions, windows, the append-only ledger,
certificates (content, PDF, signing keys), calendar missions, geofences and trackers, partner
references and reminders.

Revision ID: 0004
Revises: 0003
Create Date: 2026-03-15

Money columns are NUMERIC(18, 2) on PostgreSQL and exact decimal text on SQLite (see
``polis.store.tables_claims.Amount``). ``ondemand_ledger`` is append-only in the database: triggers
refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

_PG_FUNCTION = """
CREATE FUNCTION ondemand_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ondemand_ledger is append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""
_PG_TRIGGERS = (
    "CREATE TRIGGER ondemand_ledger_no_update_delete BEFORE UPDATE OR DELETE ON ondemand_ledger "
    "FOR EACH ROW EXECUTE FUNCTION ondemand_ledger_append_only()",
    "CREATE TRIGGER ondemand_ledger_no_truncate BEFORE TRUNCATE ON ondemand_ledger "
    "FOR EACH STATEMENT EXECUTE FUNCTION ondemand_ledger_append_only()",
)
_SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER ondemand_ledger_no_{event.lower()} BEFORE {event} ON ondemand_ledger "
    "BEGIN SELECT RAISE(ABORT, 'ondemand_ledger is append-only'); END"
    for event in ("UPDATE", "DELETE")
)


def _instant(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _amount(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Numeric(18, 2).with_variant(sa.String(40), "sqlite"), nullable=False)


def _serial() -> sa.Column[object]:
    return sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        autoincrement=True,
        nullable=False,
    )


def _text(name: str, length: int | None = None, *, nullable: bool = False) -> sa.Column[object]:
    kind: sa.types.TypeEngine[str] = sa.Text() if length is None else sa.String(length)
    return sa.Column(name, kind, nullable=nullable)


def _fk(table: str, column: str, target: str, target_column: str = "id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.{target_column}"], name=f"fk_{table}_{column}_{target}"
    )


def _tenant(table: str) -> sa.ForeignKeyConstraint:
    return _fk(table, "tenant_id", "tenants")


def upgrade() -> None:
    """Create the thirteen tables, their indexes and the ledger's append-only triggers."""
    _create_customers_and_subscriptions()
    _create_windows_and_ledger()
    _create_certificates()
    _create_triggers()


def _create_customers_and_subscriptions() -> None:
    op.create_table(
        "ondemand_customers",
        _text("id", 20),
        _text("tenant_id", 20),
        _text("kind", 10),
        _text("name", 200),
        _text("activity", 200),
        _text("address"),
        _text("siren", 9, nullable=True),
        _text("siret", 14, nullable=True),
        _text("email", 254, nullable=True),
        _text("language", 2),
        _text("status", 10),
        _text("status_reason", nullable=True),
        _instant("verified_at", nullable=True),
        _instant("created_at"),
        _instant("updated_at"),
        _tenant("ondemand_customers"),
        sa.PrimaryKeyConstraint("id", name="pk_ondemand_customers"),
    )
    op.create_index("ix_ondemand_customers_tenant_id", "ondemand_customers", ["tenant_id"])
    op.create_table(
        "ondemand_subscriptions",
        _text("id", 20),
        _text("tenant_id", 20),
        _text("customer_id", 20),
        _text("product_id", 64),
        _text("product_version", 32),
        _text("product_sha256", 64),
        _text("ondemand_sha256", 64),
        _text("terms_sha256", 64),
        _text("terms_snapshot"),
        _text("scope", 10),
        _text("unit", 10),
        _amount("sum_insured"),
        _amount("deductible"),
        _text("risk"),
        _text("items"),
        _text("geofence_ref", 200, nullable=True),
        _text("policies"),
        _instant("accepted_at"),
        _tenant("ondemand_subscriptions"),
        _fk("ondemand_subscriptions", "customer_id", "ondemand_customers"),
        sa.PrimaryKeyConstraint("id", name="pk_ondemand_subscriptions"),
    )
    op.create_index("ix_ondemand_subscriptions_tenant_id", "ondemand_subscriptions", ["tenant_id"])
    op.create_index(
        "ix_ondemand_subscriptions_customer_id", "ondemand_subscriptions", ["customer_id"]
    )


def _create_windows_and_ledger() -> None:
    op.create_table(
        "ondemand_windows",
        _text("id", 20),
        _text("tenant_id", 20),
        _text("customer_id", 20),
        _text("subscription_id", 20),
        _text("object_ref", 100),
        _text("policy_id", 20),
        _instant("starts_at"),
        _instant("ends_at"),
        _instant("sold_end"),
        _text("state", 10),
        _text("source", 20),
        _text("source_ref", 500, nullable=True),
        _instant("created_at"),
        _instant("updated_at"),
        _instant("expired_notified_at", nullable=True),
        _tenant("ondemand_windows"),
        _fk("ondemand_windows", "customer_id", "ondemand_customers"),
        _fk("ondemand_windows", "subscription_id", "ondemand_subscriptions"),
        _fk("ondemand_windows", "policy_id", "policies"),
        sa.PrimaryKeyConstraint("id", name="pk_ondemand_windows"),
    )
    op.create_index(
        "ix_ondemand_windows_tenant_id_object_ref", "ondemand_windows", ["tenant_id", "object_ref"]
    )
    op.create_index(
        "ix_ondemand_windows_subscription_id_object_ref",
        "ondemand_windows",
        ["subscription_id", "object_ref"],
    )
    op.create_index(
        "ix_ondemand_windows_customer_id_created_at",
        "ondemand_windows",
        ["customer_id", "created_at"],
    )
    op.create_index(
        "ix_ondemand_windows_expired_notified_at_ends_at",
        "ondemand_windows",
        ["expired_notified_at", "ends_at"],
    )
    op.create_table(
        "ondemand_ledger",
        _serial(),
        _text("tenant_id", 20),
        _text("customer_id", 20),
        _text("subscription_id", 20),
        _text("window_id", 20),
        _text("object_ref", 100),
        _text("kind", 10),
        _text("reason", 20),
        _instant("at"),
        sa.Column("due_date", sa.Date(), nullable=False),
        _amount("total"),
        _amount("taxes"),
        _text("detail"),
        _instant("recorded_at"),
        _tenant("ondemand_ledger"),
        _fk("ondemand_ledger", "customer_id", "ondemand_customers"),
        _fk("ondemand_ledger", "subscription_id", "ondemand_subscriptions"),
        _fk("ondemand_ledger", "window_id", "ondemand_windows"),
        sa.PrimaryKeyConstraint("id", name="pk_ondemand_ledger"),
    )
    op.create_index("ix_ondemand_ledger_customer_id_at", "ondemand_ledger", ["customer_id", "at"])
    op.create_index("ix_ondemand_ledger_window_id", "ondemand_ledger", ["window_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for statement in _PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def _create_certificates() -> None:
    op.create_table(
        "ondemand_certificates",
        _text("number", 20),
        _text("tenant_id", 20),
        _text("window_id", 20),
        _text("subscription_id", 20),
        _text("policy_id", 20),
        _text("content"),
        _text("content_sha256", 64),
        _text("signature", 100),
        _text("key_id", 16),
        _instant("period_start"),
        _instant("period_end"),
        _text("timezone", 64),
        _instant("issued_at"),
        _instant("revoked_at", nullable=True),
        _text("revocation_reason", nullable=True),
        _text("pdf_sha256", 64),
        sa.Column("pdf_size", sa.Integer(), nullable=False),
        _tenant("ondemand_certificates"),
        _fk("ondemand_certificates", "window_id", "ondemand_windows"),
        _fk("ondemand_certificates", "subscription_id", "ondemand_subscriptions"),
        _fk("ondemand_certificates", "policy_id", "policies"),
        sa.PrimaryKeyConstraint("number", name="pk_ondemand_certificates"),
    )
    op.create_index("ix_ondemand_certificates_tenant_id", "ondemand_certificates", ["tenant_id"])
    op.create_index("ix_ondemand_certificates_window_id", "ondemand_certificates", ["window_id"])
    op.create_table(
        "ondemand_certificate_pdfs",
        _text("number", 20),
        _text("tenant_id", 20),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        _fk("ondemand_certificate_pdfs", "number", "ondemand_certificates", "number"),
        _tenant("ondemand_certificate_pdfs"),
        sa.PrimaryKeyConstraint("number", name="pk_ondemand_certificate_pdfs"),
    )
    op.create_table(
        "ondemand_signing_keys",
        _text("key_id", 16),
        _text("public_key", 64),
        _instant("first_used_at"),
        sa.PrimaryKeyConstraint("key_id", name="pk_ondemand_signing_keys"),
    )


def _create_triggers() -> None:
    op.create_table(
        "ondemand_calendars",
        _serial(),
        _text("tenant_id", 20),
        _text("subscription_id", 20),
        _text("object_ref", 100),
        _text("source", 10),
        _text("url", 2000, nullable=True),
        sa.Column("margin_before_s", sa.Integer(), nullable=False),
        sa.Column("margin_after_s", sa.Integer(), nullable=False),
        _text("acceptance", 30),
        _instant("last_synced_at", nullable=True),
        _text("last_feed_sha256", 64, nullable=True),
        _text("issues"),
        _tenant("ondemand_calendars"),
        _fk("ondemand_calendars", "subscription_id", "ondemand_subscriptions"),
        sa.PrimaryKeyConstraint("id", name="pk_ondemand_calendars"),
        sa.UniqueConstraint(
            "subscription_id", "object_ref", name="uq_ondemand_calendars_subscription_id_object_ref"
        ),
    )
    op.create_index("ix_ondemand_calendars_tenant_id", "ondemand_calendars", ["tenant_id"])
    op.create_table(
        "ondemand_missions",
        _serial(),
        _text("tenant_id", 20),
        _text("subscription_id", 20),
        _text("object_ref", 100),
        _text("mission_key", 500),
        _instant("mission_start", nullable=True),
        _instant("mission_end", nullable=True),
        _text("mission_status", 12),
        _text("summary"),
        _text("location"),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        _instant("cover_start", nullable=True),
        _instant("cover_end", nullable=True),
        _text("cover_status", 12, nullable=True),
        _instant("updated_at"),
        _tenant("ondemand_missions"),
        _fk("ondemand_missions", "subscription_id", "ondemand_subscriptions"),
        sa.PrimaryKeyConstraint("id", name="pk_ondemand_missions"),
        sa.UniqueConstraint(
            "subscription_id",
            "object_ref",
            "mission_key",
            name="uq_ondemand_missions_subscription_id_object_ref_mission_key",
        ),
    )
    op.create_index("ix_ondemand_missions_tenant_id", "ondemand_missions", ["tenant_id"])
    op.create_table(
        "ondemand_geofences",
        _text("subscription_id", 20),
        _text("tenant_id", 20),
        _text("object_ref", 100),
        _text("geometry"),
        _text("settings"),
        _instant("updated_at"),
        _fk("ondemand_geofences", "subscription_id", "ondemand_subscriptions"),
        _tenant("ondemand_geofences"),
        sa.PrimaryKeyConstraint("subscription_id", name="pk_ondemand_geofences"),
    )
    op.create_index("ix_ondemand_geofences_tenant_id", "ondemand_geofences", ["tenant_id"])
    op.create_table(
        "ondemand_trackers",
        _serial(),
        _text("tenant_id", 20),
        _text("subscription_id", 20),
        _text("device_ref", 100),
        _text("state"),
        _text("window_id", 20, nullable=True),
        _instant("updated_at"),
        _tenant("ondemand_trackers"),
        _fk("ondemand_trackers", "subscription_id", "ondemand_subscriptions"),
        _fk("ondemand_trackers", "window_id", "ondemand_windows"),
        sa.PrimaryKeyConstraint("id", name="pk_ondemand_trackers"),
        sa.UniqueConstraint(
            "subscription_id", "device_ref", name="uq_ondemand_trackers_subscription_id_device_ref"
        ),
    )
    op.create_index("ix_ondemand_trackers_tenant_id", "ondemand_trackers", ["tenant_id"])
    op.create_table(
        "ondemand_partner_refs",
        _serial(),
        _text("tenant_id", 20),
        _text("subscription_id", 20),
        _text("object_ref", 100),
        _text("partner_ref", 200),
        _text("state"),
        _text("window_id", 20, nullable=True),
        _instant("updated_at"),
        _tenant("ondemand_partner_refs"),
        _fk("ondemand_partner_refs", "subscription_id", "ondemand_subscriptions"),
        _fk("ondemand_partner_refs", "window_id", "ondemand_windows"),
        sa.PrimaryKeyConstraint("id", name="pk_ondemand_partner_refs"),
        sa.UniqueConstraint(
            "tenant_id", "partner_ref", name="uq_ondemand_partner_refs_tenant_id_partner_ref"
        ),
    )
    op.create_table(
        "ondemand_reminders",
        _serial(),
        _text("tenant_id", 20),
        _text("subscription_id", 20),
        _text("reminder_key", 1000),
        _text("key_json"),
        _text("status", 12),
        _text("channel", 10),
        _text("address", 254),
        _text("mission_key", 500),
        _text("message_key", 100, nullable=True),
        _instant("send_at", nullable=True),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        _instant("recorded_at"),
        _tenant("ondemand_reminders"),
        _fk("ondemand_reminders", "subscription_id", "ondemand_subscriptions"),
        sa.PrimaryKeyConstraint("id", name="pk_ondemand_reminders"),
        sa.UniqueConstraint(
            "subscription_id",
            "reminder_key",
            name="uq_ondemand_reminders_subscription_id_reminder_key",
        ),
    )
    op.create_index("ix_ondemand_reminders_tenant_id", "ondemand_reminders", ["tenant_id"])


def downgrade() -> None:
    """Drop everything this revision created (tables in reverse order of their dependencies)."""
    op.drop_index("ix_ondemand_reminders_tenant_id", table_name="ondemand_reminders")
    op.drop_table("ondemand_reminders")
    op.drop_table("ondemand_partner_refs")
    op.drop_index("ix_ondemand_trackers_tenant_id", table_name="ondemand_trackers")
    op.drop_table("ondemand_trackers")
    op.drop_index("ix_ondemand_geofences_tenant_id", table_name="ondemand_geofences")
    op.drop_table("ondemand_geofences")
    op.drop_index("ix_ondemand_missions_tenant_id", table_name="ondemand_missions")
    op.drop_table("ondemand_missions")
    op.drop_index("ix_ondemand_calendars_tenant_id", table_name="ondemand_calendars")
    op.drop_table("ondemand_calendars")
    op.drop_table("ondemand_signing_keys")
    op.drop_table("ondemand_certificate_pdfs")
    op.drop_index("ix_ondemand_certificates_window_id", table_name="ondemand_certificates")
    op.drop_index("ix_ondemand_certificates_tenant_id", table_name="ondemand_certificates")
    op.drop_table("ondemand_certificates")
    op.drop_table("ondemand_ledger")  # drops its triggers with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ondemand_ledger_append_only()")
    for name in (
        "ix_ondemand_windows_expired_notified_at_ends_at",
        "ix_ondemand_windows_customer_id_created_at",
        "ix_ondemand_windows_subscription_id_object_ref",
        "ix_ondemand_windows_tenant_id_object_ref",
    ):
        op.drop_index(name, table_name="ondemand_windows")
    op.drop_table("ondemand_windows")
    op.drop_index("ix_ondemand_subscriptions_customer_id", table_name="ondemand_subscriptions")
    op.drop_index("ix_ondemand_subscriptions_tenant_id", table_name="ondemand_subscriptions")
    op.drop_table("ondemand_subscriptions")
    op.drop_index("ix_ondemand_customers_tenant_id", table_name="ondemand_customers")
    op.drop_table("ondemand_customers")
