"""ids clients see are never given again (AUTOINCREMENT on SQLite), and the rows that earlier deletes left
behind without their DataSet, stream or execution are removed

Revision ID: 0008_ids_never_reused
Revises: 0007_processes
"""

from __future__ import annotations

from alembic import op

revision = "0008_ids_never_reused"
down_revision = "0007_processes"
branch_labels = None
depends_on = None

# Tables whose integer ids reach clients. `accounts` has had AUTOINCREMENT since 0005_accounts. PostgreSQL's
# sequences never hand out an id twice; SQLite without AUTOINCREMENT gives the largest deleted id again.
TABLES = ("users", "groups", "streams", "executions", "index_requests", "pdp_policies")

# (table, its key column, the table it belongs to, that table's key) for rows a delete could leave behind.
BELONGS_TO = (
    ("streams", "dataset_id", "datasets", "id"),
    ("executions", "stream_id", "streams", "id"),
    ("parts", "execution_id", "executions", "id"),
    ("uploads", "dataset_id", "datasets", "id"),
    ("uploads", "execution_id", "executions", "id"),
    ("partitions", "dataset_id", "datasets", "id"),
    ("index_requests", "dataset_id", "datasets", "id"),
    ("stream_connectors", "stream_id", "streams", "id"),
    ("stream_schedules", "stream_id", "streams", "id"),
    ("connector_runs", "stream_id", "streams", "id"),
    ("dataset_permissions", "dataset_id", "datasets", "id"),
    ("pdp_policies", "dataset_id", "datasets", "id"),
)


def upgrade() -> None:
    for table, column, owner, key in BELONGS_TO:
        op.execute(
            f"DELETE FROM {table} WHERE NOT EXISTS (SELECT 1 FROM {owner} WHERE {owner}.{key} = {table}.{column})"
        )
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": True}):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": False}):
            pass
