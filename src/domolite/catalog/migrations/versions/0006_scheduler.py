"""connector runs and stream schedules with their lease

Revision ID: 0006_scheduler
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_scheduler"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stream_schedules",
        sa.Column("stream_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(), nullable=True),
        sa.Column("retry_at", sa.DateTime(), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("stream_id"),
    )
    op.create_index("ix_stream_schedules_next_run_at", "stream_schedules", ["next_run_at"])
    op.create_table(
        "connector_runs",
        sa.Column("execution_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("stream_id", sa.BigInteger(), nullable=False),
        sa.Column("run_type", sa.String(length=16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_by", sa.BigInteger(), nullable=True),
        sa.Column("export_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("execution_id"),
    )
    op.create_index("ix_connector_runs_stream_id", "connector_runs", ["stream_id"])


def downgrade() -> None:
    op.drop_index("ix_connector_runs_stream_id", table_name="connector_runs")
    op.drop_table("connector_runs")
    op.drop_index("ix_stream_schedules_next_run_at", table_name="stream_schedules")
    op.drop_table("stream_schedules")
