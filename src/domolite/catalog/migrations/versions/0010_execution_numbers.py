"""each stream numbers its own executions

Revision ID: 0010_execution_numbers
Revises: 0009_audit_log

"Each Stream has its own incrementing Execution sequence" (the Stream API document): a stream's first execution
is 1, its next 2, whatever other streams did. The catalog keeps its one key for an execution (`id`, which parts,
uploads and connector runs point at and which is never given twice); `number` is the execution's place in its
stream, unique per stream, and what clients see as the execution id. `streams.last_execution_number` hands out
the next number in the same transaction as the insert, so a number is never given twice either (not even after
the execution it numbered is gone). Existing executions are numbered per stream in the order they were created.
Columns are added in place (no table rebuild), so SQLite's AUTOINCREMENT of 0008 stays.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_execution_numbers"
down_revision = "0009_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("streams", sa.Column("last_execution_number", sa.BigInteger(), nullable=False, server_default="0"))
    op.add_column("executions", sa.Column("number", sa.BigInteger(), nullable=False, server_default="0"))
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "UPDATE executions SET number = (SELECT count(*) FROM executions AS earlier "
            "WHERE earlier.stream_id = executions.stream_id AND earlier.id <= executions.id)"
        )
    )
    conn.execute(
        sa.text(
            "UPDATE streams SET last_execution_number = "
            "(SELECT coalesce(max(number), 0) FROM executions WHERE executions.stream_id = streams.id)"
        )
    )
    op.create_index("ix_executions_stream_number", "executions", ["stream_id", "number"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_executions_stream_number", table_name="executions")
    op.drop_column("executions", "number")
    op.drop_column("streams", "last_execution_number")
