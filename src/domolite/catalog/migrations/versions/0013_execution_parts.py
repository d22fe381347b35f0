"""how many parts an ended execution had

Revision ID: 0013_execution_parts
Revises: 0012_dataset_changes

An execution's parts are let go of when it ends (committed, failed or aborted); the count they made is kept on
the execution, so that it still says how many parts it had. NULL while it is open: the parts are counted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_execution_parts"
down_revision = "0012_dataset_changes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("executions", sa.Column("parts", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("executions", "parts")
