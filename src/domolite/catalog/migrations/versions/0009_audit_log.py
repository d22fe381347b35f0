"""the audit log; the token signing key leaves the catalog

Revision ID: 0009_audit_log
Revises: 0008_ids_never_reused

The key that signed OAuth and session tokens sat in `server_keys` in the clear, so a copy of the catalog could
mint any user's token. It now lives outside the catalog (auth/signing.py). This revision hands the old key to the
caller's `legacy_signing_key_sink` (the server keeps it as a retired key, so tokens it signed stay valid until they
expire), then deletes it and drops the table. On SQLite the deletion overwrites the freed pages.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op

revision = "0009_audit_log"
down_revision = "0008_ids_never_reused"
branch_labels = None
depends_on = None


def _move_signing_key_out() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA secure_delete = ON")
    row = conn.execute(sa.text("SELECT value FROM server_keys WHERE name = 'jwt_signing_key'")).first()
    sink = context.config.attributes.get("legacy_signing_key_sink")
    if row is not None:
        if sink is not None:
            sink(str(row[0]))
        context.config.attributes["deleted_secrets"] = True
    conn.execute(sa.text("DELETE FROM server_keys"))
    op.drop_table("server_keys")


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=False),
        sa.Column("object_id", sa.String(length=1000), nullable=True),
        sa.Column("object_name", sa.String(length=1000), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("user_name", sa.String(length=320), nullable=True),
        sa.Column("via", sa.String(length=32), nullable=False),
        sa.Column("credential_id", sa.String(length=320), nullable=True),
        sa.Column("ip_address", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_events_at", "audit_events", ["at"])
    op.create_index("ix_audit_events_action_at", "audit_events", ["action", "at"])
    _move_signing_key_out()


def downgrade() -> None:
    op.create_table(
        "server_keys",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.drop_index("ix_audit_events_action_at", table_name="audit_events")
    op.drop_index("ix_audit_events_at", table_name="audit_events")
    op.drop_table("audit_events")
