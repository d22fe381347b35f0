"""server processes and the owners of running work, the data version of a cached row count; joins the branches
0002 to 0006 into one head

Revision ID: 0007_processes
Revises: 0002_access, 0003_product_api, 0004_exports, 0005_accounts, 0006_scheduler
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_processes"
down_revision = ("0002_access", "0003_product_api", "0004_exports", "0005_accounts", "0006_scheduler")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_processes",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.add_column("executions", sa.Column("owner", sa.String(length=64), nullable=True))
    op.add_column("exports", sa.Column("owner", sa.String(length=64), nullable=True))
    op.add_column("index_requests", sa.Column("owner", sa.String(length=64), nullable=True))
    op.add_column("datasets", sa.Column("data_version", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("datasets", "data_version")
    op.drop_column("index_requests", "owner")
    op.drop_column("exports", "owner")
    op.drop_column("executions", "owner")
    op.drop_table("server_processes")
