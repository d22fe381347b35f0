"""The metadata catalog's tables (SQLAlchemy Core). Alembic migrations under `migrations/` create them.

Every table whose integer ids reach clients has `sqlite_autoincrement` (revision 0008_ids_never_reused): a
deleted row's id is never handed out again (PostgreSQL's sequences never do)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(320), nullable=False),
    Column("role", String(32), nullable=False),
    Column("password_hash", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
    sqlite_autoincrement=True,
)

clients = Table(
    "clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("secret_hash", Text, nullable=False),
    Column("name", String(320), nullable=False),
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("scopes", String(200), nullable=False),
    Column("created_at", DateTime, nullable=False),
)

dev_tokens = Table(
    "dev_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("token_hash", String(128), nullable=False),
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(320), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
)

datasets = Table(
    "datasets",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(1000), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("owner_id", BigInteger, nullable=False),
    Column("columns", Text, nullable=False),
    Column("table_name", String(64), nullable=False, unique=True),
    Column("pdp_enabled", Boolean, nullable=False, default=False),
    Column("row_count", BigInteger, nullable=False, default=0),
    Column("data_provider_type", String(200), nullable=False, default="api"),
    Column("tags", Text, nullable=False, default="[]"),
    Column("properties", Text, nullable=False, default="{}"),
    Column("created_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
    Column("data_updated_at", DateTime, nullable=True),
    # The lake snapshot `row_count` was counted at (revision 0007_processes): an older one never overwrites it.
    Column("data_version", BigInteger, nullable=True),
)

streams = Table(
    "streams",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("dataset_id", String(36), nullable=False, index=True),
    Column("update_method", String(16), nullable=False),
    Column("key_columns", Text, nullable=False, default="[]"),
    Column("created_at", DateTime, nullable=False),
    Column("modified_at", DateTime, nullable=False),
    # the number of the stream's latest execution (revision 0010_execution_numbers)
    Column("last_execution_number", BigInteger, nullable=False, server_default="0"),
    sqlite_autoincrement=True,
)

executions = Table(
    "executions",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("stream_id", BigInteger, nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("update_method", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("modified_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=True),
    Column("rows", BigInteger, nullable=False, default=0),
    Column("bytes", BigInteger, nullable=False, default=0),
    Column("message", Text, nullable=True),
    Column("owner", String(64), nullable=True),  # the process committing it (revision 0007_processes)
    # its place in its stream: the execution id clients see (revision 0010_execution_numbers)
    Column("number", BigInteger, nullable=False, server_default="0"),
    # the parts it had, kept when it ends and its parts go; NULL while open (revision 0013_execution_parts)
    Column("parts", BigInteger, nullable=True),
    Index("ix_executions_stream_number", "stream_id", "number", unique=True),
    sqlite_autoincrement=True,
)

parts = Table(
    "parts",
    metadata,
    Column("execution_id", BigInteger, nullable=False),
    Column("part_no", BigInteger, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("received_at", DateTime, nullable=False),
    UniqueConstraint("execution_id", "part_no", name="uq_parts_execution_part"),
)

# -- the instance product API (/api/...) ---------------------------------------------------------------------

# A three-stage upload: an execution of the DataSet's stream, plus the partition tag it was opened for.
uploads = Table(
    "uploads",
    metadata,
    Column("execution_id", BigInteger, primary_key=True, autoincrement=False),
    Column("dataset_id", String(36), nullable=False, index=True),
    Column("stream_id", BigInteger, nullable=False),
    Column("data_tag", String(1000), nullable=True),
    Column("created_at", DateTime, nullable=False),
)

# A DataSet's partitions (Domo's data tags); `deleted` marks a tag whose rows were removed.
partitions = Table(
    "partitions",
    metadata,
    Column("dataset_id", String(36), primary_key=True),
    Column("tag", String(1000), primary_key=True),
    Column("data_id", BigInteger, nullable=False),
    Column("row_count", BigInteger, nullable=False),
    Column("completed_at", DateTime, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
)

# Index requests (compactions of a DataSet's files) and how they ended.
index_requests = Table(
    "index_requests",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("dataset_id", String(36), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("files_merged", BigInteger, nullable=False, default=0),
    Column("message", Text, nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=True),
    Column("owner", String(64), nullable=True),  # the process running it (revision 0007_processes)
    sqlite_autoincrement=True,
)

# The connector form of a stream (/api/data/v1/streams): what the client configured, kept as JSON.
stream_connectors = Table(
    "stream_connectors",
    metadata,
    Column("stream_id", BigInteger, primary_key=True, autoincrement=False),
    Column("provider_key", String(200), nullable=False),
    Column("transport", Text, nullable=False, default="{}"),
    Column("configuration", Text, nullable=False, default="[]"),
    Column("account", Text, nullable=True),
    Column("schedule", Text, nullable=True),
    Column("created_by", BigInteger, nullable=False),
    Column("modified_by", BigInteger, nullable=False),
)


# -- access: groups, shares, PDP policies (revision 0002_access) ---------------------------------------------
groups = Table(
    "groups",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("name", String(320), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("creator_id", BigInteger, nullable=False),
    Column("created_at", DateTime, nullable=False),
    sqlite_autoincrement=True,
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_id", BigInteger, nullable=False),
    Column("user_id", BigInteger, nullable=False, index=True),
    UniqueConstraint("group_id", "user_id", name="uq_group_members"),
)

dataset_permissions = Table(
    "dataset_permissions",
    metadata,
    Column("dataset_id", String(36), nullable=False),
    Column("grantee_type", String(8), nullable=False),
    Column("grantee_id", BigInteger, nullable=False),
    Column("access_level", String(16), nullable=False),
    Column("granted_by", BigInteger, nullable=False),
    Column("granted_at", DateTime, nullable=False),
    UniqueConstraint("dataset_id", "grantee_type", "grantee_id", name="uq_dataset_permissions"),
)

pdp_policies = Table(
    "pdp_policies",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("dataset_id", String(36), nullable=False, index=True),
    Column("name", String(1000), nullable=False),
    Column("type", String(16), nullable=False),
    Column("filters", Text, nullable=False, default="[]"),
    Column("user_ids", Text, nullable=False, default="[]"),
    Column("group_ids", Text, nullable=False, default="[]"),
    Column("created_at", DateTime, nullable=False),
    sqlite_autoincrement=True,
)


# Export to S3 jobs (issue 5). `active_dataset_id` is the DataSet's id while the job is queued or running and
# NULL afterwards: its unique constraint is the "one active export per DataSet" rule, kept by the database.
exports = Table(
    "exports",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("dataset_id", String(36), nullable=False, index=True),
    Column("active_dataset_id", String(36), nullable=True, unique=True),
    Column("requested_by", BigInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("reuse_key", String(64), nullable=False, index=True),
    Column("bucket", String(255), nullable=False),
    Column("prefix", Text, nullable=False),
    Column("export_format", String(16), nullable=False),
    Column("compression", String(16), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime, nullable=True),
    Column("finished_at", DateTime, nullable=True),
    Column("rows_written", BigInteger, nullable=False, default=0),
    Column("bytes_written", BigInteger, nullable=False, default=0),
    Column("objects", Text, nullable=False, default="[]"),
    Column("manifest_url", Text, nullable=True),
    Column("error_code", String(64), nullable=True),
    Column("message", Text, nullable=True),
    Column("owner", String(64), nullable=True),  # the process running it (revision 0007_processes)
)


# Connector accounts (revision 0005_accounts). `configuration` holds the non-secret fields as JSON; the secret ones
# are only in `secrets_encrypted`, one Fernet token of a JSON object, made with a key that is not in the catalog.
# sqlite_autoincrement: a deleted account's id is never given to a new one (a stream may still name it).
accounts = Table(
    "accounts",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("owner_id", BigInteger, nullable=False, index=True),
    Column("name", String(1000), nullable=False),
    Column("display_name", String(1000), nullable=False),
    Column("data_provider_type", String(200), nullable=False),
    Column("configuration", Text, nullable=False, default="{}"),
    Column("secrets_encrypted", Text, nullable=False),
    Column("valid", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
    Column("modified_at", DateTime, nullable=False),
    Column("modified_by", BigInteger, nullable=False),
    sqlite_autoincrement=True,
)


# -- connector runs and their schedule (revision 0006_scheduler) ---------------------------------------------
stream_schedules = Table(
    "stream_schedules",
    metadata,
    Column("stream_id", BigInteger, primary_key=True, autoincrement=False),
    Column("retry_count", Integer, nullable=False, default=0),
    Column("next_run_at", DateTime, nullable=True, index=True),  # the schedule's next firing; None: manual
    Column("retry_at", DateTime, nullable=True),  # a pending retry of a failed run, or None
    Column("attempt", Integer, nullable=False, default=0),  # the retry number retry_at will run
    Column("lease_owner", String(64), nullable=True),
    Column("lease_until", DateTime, nullable=True),
)

connector_runs = Table(
    "connector_runs",
    metadata,
    Column("execution_id", BigInteger, primary_key=True, autoincrement=False),
    Column("stream_id", BigInteger, nullable=False, index=True),
    Column("run_type", String(16), nullable=False),
    Column("attempt", Integer, nullable=False, default=0),
    Column("started_by", BigInteger, nullable=True),
    Column("export_id", String(36), nullable=True),
)


# -- server processes sharing the catalog (revision 0007_processes) -------------------------------------------
# Each running server has a row it renews (`heartbeat_at`); work a process owns (a running export, a commit)
# is settled by the others only once that process is gone: its row removed, its heartbeat old, or, on the
# same host, its pid no longer running.
server_processes = Table(
    "server_processes",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("heartbeat_at", DateTime, nullable=False),
)


# -- the audit log (revision 0009_audit_log) -------------------------------------------------------------------
# One row per event: when, what (action on an object), who (user, the way in and the credential's id), from where
# (remote address, user agent). Kept for `audit_retention_s`.
audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False, index=True),
    Column("action", String(32), nullable=False),
    Column("object_type", String(32), nullable=False),
    Column("object_id", String(1000), nullable=True),
    Column("object_name", String(1000), nullable=True),
    Column("user_id", BigInteger, nullable=True),
    Column("user_name", String(320), nullable=True),
    Column("via", String(32), nullable=False),
    Column("credential_id", String(320), nullable=True),
    Column("ip_address", String(64), nullable=True),
    Column("user_agent", Text, nullable=True),
    Column("comment", Text, nullable=False, default=""),
    Index("ix_audit_events_action_at", "action", "at"),
    sqlite_autoincrement=True,
)


# -- how often what a caller's access is built from has changed (revision 0011_access_changes) ------------------
# One row (id 1) whose `count` goes up in the same transaction as every write to users, clients, developer
# tokens, groups, group members or shares, and every DataSet removal (catalog/changes.py counts them). A process
# that remembers a caller's principal reads this one row per request: the count it was built at still standing
# means nothing it was built from has changed, in this process or in any other sharing the catalog.
access_changes = Table(
    "access_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("count", BigInteger, nullable=False),
)


# -- how often the DataSets' records have changed (revision 0012_dataset_changes) ------------------------------
# One row (id 1) whose `count` goes up in the same transaction as every INSERT, UPDATE or DELETE of `datasets`
# (catalog/changes.py counts them): a process that remembers DataSet records reads this one row per request, and
# the count still standing means no record has changed since, in this process or in any other.
dataset_changes = Table(
    "dataset_changes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("count", BigInteger, nullable=False),
)
