"""Policies and claims: policies, claims, claim_evidence, claim_offers, the append-only
claim_ledger, and an index on audit_log by entity (a claim's history).

Revision ID: 0002
Revises: 0001
Create Date: 2026-02-01

Money columns are NUMERIC(18, 2) on PostgreSQL and exact decimal text on SQLite (see
``polis.store.tables_claims.Amount``). The claim ledger is append-only in the database: triggers
refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_PG_FUNCTION = """
CREATE FUNCTION claim_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'claim_ledger is append-only (% refused)', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""
_PG_TRIGGERS = (
    "CREATE TRIGGER claim_ledger_no_update_delete BEFORE UPDATE OR DELETE ON claim_ledger "
    "FOR EACH ROW EXECUTE FUNCTION claim_ledger_append_only()",
    "CREATE TRIGGER claim_ledger_no_truncate BEFORE TRUNCATE ON claim_ledger "
    "FOR EACH STATEMENT EXECUTE FUNCTION claim_ledger_append_only()",
)
_SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER claim_ledger_no_{event.lower()} BEFORE {event} ON claim_ledger "
    "BEGIN SELECT RAISE(ABORT, 'claim_ledger is append-only'); END"
    for event in ("UPDATE", "DELETE")
)


def _instant(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _amount(name: str, *, nullable: bool = False) -> sa.Column[object]:
    kind = sa.Numeric(18, 2).with_variant(sa.String(40), "sqlite")
    return sa.Column(name, kind, nullable=nullable)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=f"fk_{table}_tenant_id_tenants"
    )


def _claim_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=f"fk_{table}_claim_id_claims")


def upgrade() -> None:
    """Create the five tables, their indexes and the ledger's append-only triggers."""
    op.create_table(
        "policies",
        sa.Column("id", sa.String(20), nullable=False),
        sa.Column("tenant_id", sa.String(20), nullable=False),
        sa.Column("product_id", sa.String(64), nullable=False),
        sa.Column("product_version", sa.String(32), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("terms_sha256", sa.String(64), nullable=False),
        _instant("created_at"),
        _tenant_fk("policies"),
        sa.PrimaryKeyConstraint("id", name="pk_policies"),
    )
    op.create_index("ix_policies_tenant_id", "policies", ["tenant_id"])
    op.create_index("ix_audit_log_entity", "audit_log", ["chain", "entity_type", "entity_id"])
    _create_claims()
    _create_evidence_and_offers()
    _create_ledger()


def _create_claims() -> None:
    op.create_table(
        "claims",
        sa.Column("id", sa.String(20), nullable=False),
        sa.Column("tenant_id", sa.String(20), nullable=False),
        sa.Column("policy_id", sa.String(20), nullable=False),
        sa.Column("cover_id", sa.String(64), nullable=False),
        sa.Column("peril", sa.String(64), nullable=False),
        _instant("loss_at"),
        _instant("declared_at"),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("circumstances", sa.Text(), nullable=False),
        _amount("estimated_amount"),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("days_late", sa.Integer(), nullable=False),
        _instant("declaration_deadline"),
        _amount("reserve"),
        sa.Column("insured_token_hash", sa.String(64), nullable=False),
        _instant("updated_at"),
        _tenant_fk("claims"),
        sa.ForeignKeyConstraint(
            ["policy_id"], ["policies.id"], name="fk_claims_policy_id_policies"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_claims"),
    )
    op.create_index("ix_claims_tenant_id_status", "claims", ["tenant_id", "status"])
    op.create_index("ix_claims_policy_id", "claims", ["policy_id"])


def _create_evidence_and_offers() -> None:
    op.create_table(
        "claim_evidence",
        sa.Column("id", sa.String(20), nullable=False),
        sa.Column("tenant_id", sa.String(20), nullable=False),
        sa.Column("claim_id", sa.String(20), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        _instant("captured_at", nullable=True),
        _instant("uploaded_at"),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        _tenant_fk("claim_evidence"),
        _claim_fk("claim_evidence"),
        sa.PrimaryKeyConstraint("id", name="pk_claim_evidence"),
        sa.UniqueConstraint("claim_id", "sha256", name="uq_claim_evidence_claim_id_sha256"),
    )
    op.create_index("ix_claim_evidence_claim_id", "claim_evidence", ["claim_id"])
    op.create_table(
        "claim_offers",
        sa.Column("id", sa.String(20), nullable=False),
        sa.Column("tenant_id", sa.String(20), nullable=False),
        sa.Column("claim_id", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        _amount("loss_amount"),
        _amount("indemnity"),
        sa.Column("retained", sa.Text(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("engine_version", sa.String(40), nullable=False),
        _instant("made_at"),
        sa.Column("made_by", sa.String(100), nullable=False),
        _instant("answered_at", nullable=True),
        sa.Column("answered_by", sa.String(100), nullable=True),
        sa.Column("answer_reason", sa.Text(), nullable=True),
        _tenant_fk("claim_offers"),
        _claim_fk("claim_offers"),
        sa.PrimaryKeyConstraint("id", name="pk_claim_offers"),
    )
    op.create_index("ix_claim_offers_claim_id", "claim_offers", ["claim_id"])


def _create_ledger() -> None:
    op.create_table(
        "claim_ledger",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.String(20), nullable=False),
        sa.Column("claim_id", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        _amount("amount"),
        _amount("reserve_after", nullable=True),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("reference", sa.String(100), nullable=True),
        _instant("at"),
        sa.Column("actor", sa.String(100), nullable=False),
        _tenant_fk("claim_ledger"),
        _claim_fk("claim_ledger"),
        sa.PrimaryKeyConstraint("id", name="pk_claim_ledger"),
    )
    op.create_index("ix_claim_ledger_claim_id", "claim_ledger", ["claim_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for statement in _PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    """Drop everything this revision created."""
    op.drop_table("claim_ledger")  # drops its triggers with it
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS claim_ledger_append_only()")
    op.drop_index("ix_claim_offers_claim_id", table_name="claim_offers")
    op.drop_table("claim_offers")
    op.drop_index("ix_claim_evidence_claim_id", table_name="claim_evidence")
    op.drop_table("claim_evidence")
    op.drop_index("ix_claims_policy_id", table_name="claims")
    op.drop_index("ix_claims_tenant_id_status", table_name="claims")
    op.drop_table("claims")
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_index("ix_policies_tenant_id", table_name="policies")
    op.drop_table("policies")
