"""export to S3 jobs

Revision ID: 0004_exports
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_exports"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("active_dataset_id", sa.String(length=36), nullable=True),
        sa.Column("requested_by", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("reuse_key", sa.String(length=64), nullable=False),
        sa.Column("bucket", sa.String(length=255), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("export_format", sa.String(length=16), nullable=False),
        sa.Column("compression", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("rows_written", sa.BigInteger(), nullable=False),
        sa.Column("bytes_written", sa.BigInteger(), nullable=False),
        sa.Column("objects", sa.Text(), nullable=False),
        sa.Column("manifest_url", sa.Text(), nullable=True),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("active_dataset_id"),
    )
    op.create_index("ix_exports_dataset_id", "exports", ["dataset_id"])
    op.create_index("ix_exports_reuse_key", "exports", ["reuse_key"])


def downgrade() -> None:
    op.drop_index("ix_exports_reuse_key", table_name="exports")
    op.drop_index("ix_exports_dataset_id", table_name="exports")
    op.drop_table("exports")
