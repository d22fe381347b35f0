"""Export to S3, as data: the job's state machine, the job record, its target, options and credentials."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from domolite.errors import Conflict, InvalidField

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


class ExportState(StrEnum):
    """Domo's exportStatus values: `none` is queued, not yet running."""

    NONE = "none"
    EXPORTING = "exporting"
    SUCCESS = "success"
    ERROR = "error"


EXPORT_TRANSITIONS: dict[ExportState, frozenset[ExportState]] = {
    ExportState.NONE: frozenset({ExportState.EXPORTING, ExportState.ERROR}),
    ExportState.EXPORTING: frozenset({ExportState.SUCCESS, ExportState.ERROR}),
    ExportState.SUCCESS: frozenset(),
    ExportState.ERROR: frozenset(),
}

ACTIVE_STATES = frozenset({ExportState.NONE, ExportState.EXPORTING})


def check_export_transition(current: ExportState, new: ExportState) -> None:
    """Raise Conflict unless the export state machine allows current -> new."""
    if new not in EXPORT_TRANSITIONS[current]:
        raise Conflict(f"an export cannot go from {current} to {new}")


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


class Compression(StrEnum):
    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"
    SNAPPY = "snappy"  # Parquet only


class ErrorCode(StrEnum):
    """errorCode of a failed export (and of a refused request)."""

    BAD_CREDENTIALS = "BAD_CREDENTIALS"
    ACCESS_DENIED = "ACCESS_DENIED"
    BUCKET_NOT_FOUND = "BUCKET_NOT_FOUND"
    REGION_MISMATCH = "REGION_MISMATCH"
    KMS_ERROR = "KMS_ERROR"
    S3_UNREACHABLE = "S3_UNREACHABLE"
    S3_ERROR = "S3_ERROR"
    QUERY_FAILED = "QUERY_FAILED"
    INTERRUPTED = "INTERRUPTED"
    DATASET_DELETED = "DATASET_DELETED"
    INTERNAL = "INTERNAL"


def check_bucket(bucket: str, where: str) -> str:
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise InvalidField(where, f"{bucket!r} is not a valid S3 bucket name")
    return bucket


def check_region(region: str, where: str) -> str:
    if not _REGION.match(region):
        raise InvalidField(where, f"{region!r} is not an AWS region name such as eu-west-3")
    return region


def check_endpoint_url(url: str, where: str) -> str:
    """An S3-compatible endpoint: http(s), a host, no credentials in the URL. Returned without a trailing slash."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidField(where, "must be an http:// or https:// URL")
    if parts.username or parts.password:
        raise InvalidField(where, "must not carry credentials")
    return url.rstrip("/")


@dataclass(frozen=True)
class S3Credentials:
    """Used for one job, then dropped: never stored, logged or returned (repr hides them)."""

    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.access_key, self.secret_key, self.session_token) if s)


@dataclass(frozen=True)
class S3Target:
    bucket: str
    region: str
    prefix: str  # <path or datasetId>, without slashes at the ends
    endpoint_url: str | None = None
    path_style: bool = False
    kms_key_id: str | None = None


@dataclass(frozen=True)
class ExportOptions:
    format: ExportFormat = ExportFormat.CSV
    compression: Compression = Compression.NONE
    include_bom: bool = False
    max_object_bytes: int | None = None  # None: the server's setting


@dataclass(frozen=True)
class ExportObject:
    url: str
    rows: int
    bytes: int


@dataclass(frozen=True)
class ExportJob:
    id: str
    dataset_id: str
    requested_by: int
    state: ExportState
    bucket: str
    prefix: str
    format: ExportFormat
    compression: Compression
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rows_written: int
    bytes_written: int
    objects: tuple[ExportObject, ...]
    error_code: str | None
    message: str | None
    reuse_key: str
    manifest_url: str | None = None
    owner: str | None = None  # the server process running it


def time_text(value: datetime | None) -> str | None:
    """An export's time as its status shows it: 2026-01-02T03:04:05.678Z (UTC)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z" if value else None


class ExportFailure(Exception):
    """Why a running export stopped; the message is shown to users, so it never holds a secret."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
