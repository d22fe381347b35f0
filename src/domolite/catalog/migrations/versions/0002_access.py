"""access: groups, group members, DataSet shares and PDP policies

Revision ID: 0002_access
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_access"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "groups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=320), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("creator_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "group_members",
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("group_id", "user_id", name="uq_group_members"),
    )
    op.create_index("ix_group_members_user_id", "group_members", ["user_id"])
    op.create_table(
        "dataset_permissions",
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("grantee_type", sa.String(length=8), nullable=False),
        sa.Column("grantee_id", sa.BigInteger(), nullable=False),
        sa.Column("access_level", sa.String(length=16), nullable=False),
        sa.Column("granted_by", sa.BigInteger(), nullable=False),
        sa.Column("granted_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint("dataset_id", "grantee_type", "grantee_id", name="uq_dataset_permissions"),
    )
    op.create_table(
        "pdp_policies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("dataset_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=1000), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("filters", sa.Text(), nullable=False),
        sa.Column("user_ids", sa.Text(), nullable=False),
        sa.Column("group_ids", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pdp_policies_dataset_id", "pdp_policies", ["dataset_id"])


def downgrade() -> None:
    op.drop_index("ix_pdp_policies_dataset_id", table_name="pdp_policies")
    op.drop_table("pdp_policies")
    op.drop_table("dataset_permissions")
    op.drop_index("ix_group_members_user_id", table_name="group_members")
    op.drop_table("group_members")
    op.drop_table("groups")
