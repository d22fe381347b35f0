"""a count of the changes to what a caller's access is built from

Revision ID: 0011_access_changes
Revises: 0010_execution_numbers

A server remembers the principal of a credential (the user, its groups and the DataSets shared with it) and
builds it again only when `access_changes.count` has moved: every write to the tables it is built from moves it
in the same transaction (catalog/changes.py), whichever process made the write.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_access_changes"
down_revision = "0010_execution_numbers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "access_changes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(table, [{"id": 1, "count": 0}])


def downgrade() -> None:
    op.drop_table("access_changes")
