"""Every setting, with its default. Environment variables are DOMOLITE_<NAME>; `domolite serve --<name>` overrides."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Settings are built once by the CLI (or a test) and passed to `create_app`; nothing imports an instance."""

    model_config = SettingsConfigDict(env_prefix="DOMOLITE_", frozen=True, extra="ignore")

    data_dir: Path = Field(Path("./domolite-data"), description="Catalog, lake, staging area and secrets.")
    host: str = Field("127.0.0.1", description="Interface `serve` binds to.")
    port: int = Field(8000, description="Port `serve` binds to.")
    catalog_url: str | None = Field(
        None, description="SQLAlchemy URL of the metadata catalog; default sqlite under the data dir."
    )
    lake_url: str | None = Field(
        None,
        description=(
            "Where the lake's Parquet files and the staged parts live: s3://bucket/prefix (any S3-compatible "
            "store); default the folder <data dir>/lake."
        ),
    )
    lake_s3_endpoint_url: str | None = Field(
        None, description="Endpoint of an S3-compatible store holding the lake (http://host:port); default AWS S3."
    )
    lake_s3_region: str = Field("us-east-1", description="Region of the lake's bucket.")
    lake_s3_url_style: Literal["vhost", "path"] = Field(
        "vhost", description="`vhost` (bucket.host/key) or `path` (host/bucket/key, for most S3-compatible stores)."
    )
    lake_s3_access_key: SecretStr | None = Field(
        None, description="Access key id for the lake's bucket; unset: the usual AWS chain (environment, files, role)."
    )
    lake_s3_secret_key: SecretStr | None = Field(None, description="Secret access key for the lake's bucket.")
    lake_s3_session_token: SecretStr | None = Field(
        None, description="Session token for temporary credentials to the lake's bucket."
    )
    admin_password: SecretStr | None = Field(
        None, description="Password of the bootstrap admin user; a random one is printed when unset."
    )
    admin_email: str = Field("admin@domolite.local", description="E-mail of the bootstrap admin user.")
    token_lifetime_s: int = Field(3600, description="Lifetime of OAuth access tokens, in seconds.")
    max_part_bytes: int = Field(2 * 2**30, description="Largest accepted stream part or import body, decompressed.")
    max_record_bytes: int = Field(
        4 * 2**20,
        ge=1024,
        le=256 * 2**20,
        description="Longest CSV record (a row, with its quoted line breaks) a part or import may hold, in bytes.",
    )
    max_name_chars: int = Field(
        255,
        ge=1,
        le=320,
        description=(
            "Longest name of a DataSet, column, user, group, policy, account or token, in characters "
            "(at most 320, the catalog's widths)."
        ),
    )
    max_description_chars: int = Field(65_536, ge=1, description="Longest description, in characters.")
    max_sql_chars: int = Field(
        262_144, ge=1, description="Longest SQL text (a query, a version-window expression), in characters."
    )
    max_columns: int = Field(
        1500, ge=1, le=3000, description="Most columns a DataSet's schema may have (at most 3000)."
    )
    max_json_bytes: int = Field(16 * 2**20, ge=1024, description="Largest JSON request body, in bytes.")
    query_timeout_s: float = Field(30.0, description="User SQL is interrupted after this many seconds.")
    query_max_rows: int = Field(1_000_000, description="Most rows a query may return (Domo's cap).")
    query_slots: int | None = Field(
        None, ge=1, description="Queries that run at once; the others wait within their time limit. Default: cores."
    )
    query_copy_mb: int = Field(
        256, ge=0, description="Memory (MB) for in-memory copies of the DataSets queried most; 0: none."
    )
    lake_write_wait_s: float = Field(
        60.0, gt=0, description="How long a commit waits for its turn at writing the lake before a 503 (retryable)."
    )
    duckdb_threads: int | None = Field(None, description="DuckDB worker threads; default is the core count.")
    duckdb_memory_limit: str = Field("1GB", description="DuckDB memory limit for loads and exports.")
    partition_limit: int = Field(400, description="Most partition tags a DataSet may hold (Domo's limit is 400).")
    session_lifetime_s: int = Field(
        86400, description="Lifetime of session tokens from POST /api/content/v2/authentication, in seconds."
    )
    log_level: str = Field("info", description="Log level of the server.")
    log_format: Literal["text", "json"] = Field(
        "text", description="`text` (one line per record) or `json` (one JSON object per line, for log collectors)."
    )
    export_workers: int = Field(2, ge=1, description="Export to S3 jobs that run at once.")
    export_upload_threads: int = Field(
        8, ge=1, description="Parts of one export uploaded at once (and held in memory)."
    )
    export_part_bytes: int = Field(8 * 2**20, ge=5 * 2**20, description="Size of one multipart upload part.")
    export_max_object_bytes: int = Field(
        4 * 2**30, ge=1024, description="An export object is closed at the first row end past this size."
    )
    export_duckdb_threads: int | None = Field(
        None,
        ge=1,
        description="DuckDB threads that write an export's CSV (an instance of their own); default half the cores.",
    )
    export_abort_grace_s: float = Field(
        60.0, ge=0, description="How long a failed export keeps trying to abort its uploads if S3 is unreachable."
    )
    scheduler_enabled: bool = Field(True, description="Whether this process runs scheduled connector streams.")
    scheduler_tick_s: float = Field(
        1.0, gt=0, description="How often the scheduler looks for due streams in the catalog, in seconds."
    )
    scheduler_minute_s: float = Field(
        60.0,
        gt=0,
        description=(
            "Length of a schedule minute in seconds, for MINUTE and HOUR schedules and retry backoff; tests shorten it."
        ),
    )
    scheduler_lease_s: float = Field(
        60.0, gt=0, description="How long a run's lease on its stream lasts unless renewed (it is, while running)."
    )
    scheduler_workers: int = Field(2, ge=1, description="Connector runs this process executes at once.")
    process_heartbeat_s: float = Field(
        5.0, gt=0, description="How often this process renews its heartbeat in the catalog and settles gone ones' work."
    )
    process_dead_after_s: float = Field(
        30.0,
        gt=0,
        description=(
            "A process on another host whose heartbeat is older than this is gone: its running exports and commits "
            "are settled."
        ),
    )
    account_key: SecretStr | None = Field(
        None,
        description="Fernet key that encrypts connector accounts' secrets; default: the key in <data dir>/account.key.",
    )
    signing_keys: SecretStr | None = Field(
        None,
        description=(
            "Comma-separated secrets (32 characters or more) that sign OAuth and session tokens: the first signs, "
            "all verify; default: the keys in <data dir>/signing.keys."
        ),
    )
    auth_failures_per_client: int = Field(
        10,
        ge=1,
        description="Failed logins of one OAuth client, user or developer token in a window before it gets 429s.",
    )
    auth_failures_per_address: int = Field(
        50, ge=1, description="Failed logins from one remote address in a window before it gets 429s."
    )
    auth_failure_window_s: float = Field(
        300.0, gt=0, description="The window of auth_failures_*, and how long a throttled client waits, in seconds."
    )
    audit_retention_s: float = Field(
        365 * 86400.0, gt=0, description="How long audit log events are kept, in seconds (default 365 days)."
    )

    @field_validator("lake_url")
    @classmethod
    def _lake_url_is_s3(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"lake_url must be s3://bucket/prefix, not {value!r}")
        return value.strip().rstrip("/")

    @property
    def lake_in_s3(self) -> bool:
        return self.lake_url is not None

    @property
    def shared_lake(self) -> bool:
        """Whether processes on other machines can share this lake: it is in S3 and the catalog in PostgreSQL."""
        return self.lake_in_s3 and self.resolved_catalog_url.startswith("postgresql")

    @property
    def resolved_export_duckdb_threads(self) -> int:
        """The export CSV writer's DuckDB threads: the setting, or half the cores (at least 1), leaving the
        rest to the S3 client and the upload."""
        return self.export_duckdb_threads or max(1, (os.cpu_count() or 2) // 2)

    @property
    def resolved_catalog_url(self) -> str:
        if self.catalog_url:
            return self.catalog_url
        return f"sqlite:///{self.data_dir.resolve() / 'catalog.sqlite'}"

    @property
    def lake_dir(self) -> Path:
        return self.data_dir.resolve() / "lake"

    @property
    def staging_dir(self) -> Path:
        return self.data_dir.resolve() / "staging"

    @property
    def account_key_file(self) -> Path:
        return self.data_dir.resolve() / "account.key"

    @property
    def signing_key_file(self) -> Path:
        return self.data_dir.resolve() / "signing.keys"

    @property
    def longest_token_lifetime_s(self) -> int:
        """How long a signed token can live: a retired signing key verifies for this long after it retired."""
        return max(self.token_lifetime_s, self.session_lifetime_s)
