"""An index on the on-demand ledger by subscription and item.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21

Every activation reads the item's ledger entries (``subscription_id, object_ref``) and the
subscription's charges of the month (``subscription_id`` and the windows touching the month); with
only ``(customer_id, at)`` and ``window_id`` indexed, both were sequential scans of the whole
ledger, so an activation's database time grew with the ledger (0.7 ms per scan at 1,800 rows).
"""

from __future__ import annotations

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(
        "ix_ondemand_ledger_subscription_id_object_ref",
        "ondemand_ledger",
        ["subscription_id", "object_ref"],
    )


def downgrade() -> None:
    op.drop_index("ix_ondemand_ledger_subscription_id_object_ref", table_name="ondemand_ledger")
