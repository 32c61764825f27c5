"""Right of withdrawal of on-demand subscriptions: how the contract was sold, when the terms were
received, and the withdrawal once exercised.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21

``ondemand_subscriptions`` gains ``sale_channel`` (``distance`` | ``doorstep``, existing rows:
``distance`` — every subscription so far was taken through the API or the web), ``terms_received_at``
(NULL: with the acceptance), ``withdrawn_at`` and ``withdrawal`` (the decision as JSON). Only
columns are added: plain ``ALTER TABLE … ADD COLUMN`` on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column(
        "ondemand_subscriptions",
        sa.Column("sale_channel", sa.String(10), nullable=False, server_default="distance"),
    )
    op.add_column(
        "ondemand_subscriptions", sa.Column("terms_received_at", sa.DateTime(timezone=True))
    )
    op.add_column("ondemand_subscriptions", sa.Column("withdrawn_at", sa.DateTime(timezone=True)))
    op.add_column("ondemand_subscriptions", sa.Column("withdrawal", sa.Text()))


def downgrade() -> None:
    with op.batch_alter_table("ondemand_subscriptions") as batch:
        batch.drop_column("withdrawal")
        batch.drop_column("withdrawn_at")
        batch.drop_column("terms_received_at")
        batch.drop_column("sale_channel")
