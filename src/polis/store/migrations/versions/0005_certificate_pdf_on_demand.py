"""Certificate PDFs rendered on first download: ``pdf_sha256`` and ``pdf_size`` become nullable and
each certificate records the public base URL its QR code points to.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21

An activation stores the signed certificate (canonical content, SHA-256, Ed25519 signature, key id)
in its transaction; the PDF — a pure function of that record and of the public base URL — is
rendered and stored at the first download. Until then ``pdf_sha256`` and ``pdf_size`` are NULL.
Certificates issued before this revision keep their PDF (and ``public_base_url`` NULL).

On SQLite the table is rebuilt (batch mode). ``ondemand_certificate_pdfs`` references it and the
foreign keys are enforced (``PRAGMA foreign_keys`` cannot be turned off inside the migration's
transaction), so that table is set aside first and rebuilt afterwards, rows included.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _set_pdfs_aside() -> None:
    op.execute(
        "CREATE TABLE _polis_pdfs_0005 AS SELECT number, tenant_id, pdf FROM ondemand_certificate_pdfs"
    )
    op.drop_table("ondemand_certificate_pdfs")


def _put_pdfs_back() -> None:
    op.create_table(
        "ondemand_certificate_pdfs",
        sa.Column("number", sa.String(20), nullable=False),
        sa.Column("tenant_id", sa.String(20), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["number"],
            ["ondemand_certificates.number"],
            name="fk_ondemand_certificate_pdfs_number_ondemand_certificates",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name="fk_ondemand_certificate_pdfs_tenant_id_tenants"
        ),
        sa.PrimaryKeyConstraint("number", name="pk_ondemand_certificate_pdfs"),
    )
    op.execute(
        "INSERT INTO ondemand_certificate_pdfs (number, tenant_id, pdf) "
        "SELECT number, tenant_id, pdf FROM _polis_pdfs_0005"
    )
    op.drop_table("_polis_pdfs_0005")


def upgrade() -> None:
    if _sqlite():
        _set_pdfs_aside()
    with op.batch_alter_table("ondemand_certificates") as batch:
        batch.alter_column("pdf_sha256", existing_type=sa.String(64), nullable=True)
        batch.alter_column("pdf_size", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("public_base_url", sa.String(2000), nullable=True))
    if _sqlite():
        _put_pdfs_back()


def downgrade() -> None:
    """Certificates never downloaded get their PDF checksum as empty: render them before going
    back (``GET /v1/certificates/{number}.pdf``), or their PDF reads as corrupted."""
    op.execute("UPDATE ondemand_certificates SET pdf_sha256 = '' WHERE pdf_sha256 IS NULL")
    op.execute("UPDATE ondemand_certificates SET pdf_size = 0 WHERE pdf_size IS NULL")
    if _sqlite():
        _set_pdfs_aside()
    with op.batch_alter_table("ondemand_certificates") as batch:
        batch.drop_column("public_base_url")
        batch.alter_column("pdf_size", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("pdf_sha256", existing_type=sa.String(64), nullable=False)
    if _sqlite():
        _put_pdfs_back()
