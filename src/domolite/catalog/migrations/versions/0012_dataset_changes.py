"""a count of the changes to the DataSets' records

Revision ID: 0012_dataset_changes
Revises: 0011_access_changes

A server remembers the DataSet records it read and reads one again only when `dataset_changes.count` has moved:
every write to `datasets` moves it in the same transaction (catalog/changes.py), whichever process made the write.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_dataset_changes"
down_revision = "0011_access_changes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "dataset_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "count": 0}])


def downgrade() -> None:
    op.drop_table("dataset_changes")
