"""the instance product API: uploads, partitions, index requests, stream connectors

Revision ID: 0003_product_api
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_product_api"
down_revision = "0001"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("execution_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("stream_id", sa.BigInteger(), nullable=False),
        sa.Column("data_tag", sa.String(length=1000), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("execution_id"),
    )
    op.create_index("ix_uploads_dataset_id", "uploads", ["dataset_id"])
    op.create_table(
        "partitions",
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("tag", sa.String(length=1000), nullable=False),
        sa.Column("data_id", sa.BigInteger(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", "tag"),
    )
    op.create_table(
        "index_requests",
        sa.Column("id", _id(), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("files_merged", sa.BigInteger(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_index_requests_dataset_id", "index_requests", ["dataset_id"])
    op.create_table(
        "stream_connectors",
        sa.Column("stream_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("provider_key", sa.String(length=200), nullable=False),
        sa.Column("transport", sa.Text(), nullable=False),
        sa.Column("configuration", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=True),
        sa.Column("schedule", sa.Text(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=False),
        sa.Column("modified_by", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("stream_id"),
    )


def downgrade() -> None:
    op.drop_table("stream_connectors")
    op.drop_index("ix_index_requests_dataset_id", table_name="index_requests")
    op.drop_table("index_requests")
    op.drop_table("partitions")
    op.drop_index("ix_uploads_dataset_id", table_name="uploads")
    op.drop_table("uploads")
