"""Every error a client can see. `status` is the HTTP status it is sent with.

DomoError (500)
├── BadRequest (400)
│   ├── InvalidField        a request field is missing or malformed
│   ├── InvalidCsv          a part does not parse against the DataSet schema
│   ├── InvalidPart         not gzip although it says so; bad part number
│   ├── InvalidSql          the SQL does not parse, or reads something other than the DataSet
│   ├── QueryTimeout        user SQL ran past the time limit
│   ├── S3Refused           the export's bucket cannot be used (region, credentials, missing bucket)
│   ├── BodyEndedEarly      the body stopped before its Content-Length, or the client went away sending it
│   └── PartitionLimitReached  a new partition tag past the DataSet's limit
├── Unauthorized (401)      missing, malformed, expired or revoked token
│   └── TokenExpired        a token whose time is up (not counted as a failed login)
├── Forbidden (403)         authenticated, not allowed
├── NotFound (404)
│   ├── DataSetNotFound  ├── StreamNotFound  ├── ExecutionNotFound  ├── UserNotFound
│   ├── UploadNotFound  ├── PartitionNotFound  ├── IndexNotFound  ├── DataVersionNotFound
│   ├── ExportNotFound  ├── GroupNotFound  ├── PolicyNotFound
│   └── AccountNotFound
├── Conflict (409)
│   ├── ExecutionNotActive  upload/commit to a committed or aborted execution
│   └── CommitRunning       "abort all" while an execution of the stream commits
├── PayloadTooLarge (413)
├── UnsupportedMediaType (415) a Content-Encoding domolite does not decode
├── TooManyRequests (429)   too many failed logins; `retry_after` seconds until the next try is heard
├── Busy (503)              a lock or resource was not had in time; retryable, sent with Retry-After
│   └── ShuttingDown        the server is stopping
└── SecretUnreadable (500)  an account's secrets do not decrypt with this server's account key
"""

from __future__ import annotations

from typing import ClassVar


class DomoError(Exception):
    status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(DomoError):
    status = 400


class InvalidField(BadRequest):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


class InvalidCsv(BadRequest):
    pass


class InvalidPart(BadRequest):
    pass


class InvalidSql(BadRequest):
    """SQL refused or failing. `detail` is the engine's whole text, for saying the mistake better; never shown."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


class QueryTimeout(BadRequest):
    pass


class S3Refused(BadRequest):
    """S3 said no, or cannot be reached. `code` is the export's errorCode; the message holds no secrets."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class Unauthorized(DomoError):
    status = 401


class TokenExpired(Unauthorized):
    pass


class TooManyRequests(DomoError):
    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Forbidden(DomoError):
    status = 403


class NotFound(DomoError):
    status = 404


class DataSetNotFound(NotFound):
    def __init__(self, dataset_id: str) -> None:
        super().__init__(f"DataSet {dataset_id} not found")
        self.dataset_id = dataset_id


class StreamNotFound(NotFound):
    def __init__(self, stream_id: int | str) -> None:
        super().__init__(f"Stream {stream_id} not found")


class ExecutionNotFound(NotFound):
    def __init__(self, stream_id: int, execution_id: int | str) -> None:
        super().__init__(f"Execution {execution_id} of stream {stream_id} not found")


class UserNotFound(NotFound):
    def __init__(self, user: int | str) -> None:
        super().__init__(f"User {user} not found")


class ExportNotFound(NotFound):
    def __init__(self, dataset_id: str, export_id: str) -> None:
        super().__init__(f"Export {export_id} of DataSet {dataset_id} not found")


class AccountNotFound(NotFound):
    def __init__(self, account_id: int | str) -> None:
        super().__init__(f"Account {account_id} not found")
        self.account_id = account_id


class SecretUnreadable(DomoError):
    """The stored secrets cannot be decrypted: the server's account key is not the one they were sealed with,
    or the stored token was damaged."""


class Conflict(DomoError):
    status = 409


class Busy(DomoError):
    """A lock or a resource this request needs was not had in time (the lake's writer, a free worker): nothing
    was changed, and the same request may be sent again after `retry_after_s` seconds."""

    status = 503

    def __init__(self, message: str, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ShuttingDown(Busy):
    """The server is stopping: work stopped (or was refused) before it changed anything, or was left for the
    next start to settle. Another server process, or this one once restarted, takes the request."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after_s=5)


class ExecutionNotActive(Conflict):
    def __init__(self, stream_id: int, execution_id: int, state: str) -> None:
        super().__init__(f"Execution {execution_id} of stream {stream_id} is {state}, not ACTIVE")
        self.state = state


class CommitRunning(Conflict):
    """ "Abort all" found executions committing: those cannot be aborted and will end SUCCESS or ERROR."""

    def __init__(self, stream_id: int, execution_ids: list[int]) -> None:
        ids = ", ".join(str(i) for i in execution_ids)
        super().__init__(
            f"execution {ids} of stream {stream_id} is committing and cannot be aborted: it will end SUCCESS or "
            f"ERROR (GET /v1/streams/{stream_id}/executions/{execution_ids[0]} tells which); every ACTIVE "
            "execution of the stream was aborted"
        )


class PayloadTooLarge(DomoError):
    status = 413


class UnsupportedMediaType(DomoError):
    status = 415


class BodyEndedEarly(BadRequest):
    """The request body stopped before its Content-Length (or the client went away while sending it)."""

    def __init__(self, received: int, declared: int | None) -> None:
        of = f" of the {declared} bytes its Content-Length announced" if declared is not None else ""
        super().__init__(f"the body ends early: {received} bytes arrived{of}")
        self.received = received
        self.declared = declared


class PartitionLimitReached(BadRequest):
    def __init__(self, dataset_id: str, limit: int) -> None:
        super().__init__(
            f"DataSet {dataset_id} already has {limit} partitions, the limit; delete a partition tag first"
        )


class GroupNotFound(NotFound):
    def __init__(self, group_id: int | str) -> None:
        super().__init__(f"Group {group_id} not found")


class PolicyNotFound(NotFound):
    def __init__(self, dataset_id: str, policy_id: int | str) -> None:
        super().__init__(f"Policy {policy_id} of DataSet {dataset_id} not found")


class UploadNotFound(NotFound):
    def __init__(self, dataset_id: str, upload_id: int | str) -> None:
        super().__init__(f"Upload {upload_id} of DataSet {dataset_id} not found")


class PartitionNotFound(NotFound):
    def __init__(self, dataset_id: str, tag: str) -> None:
        super().__init__(f"Partition {tag!r} of DataSet {dataset_id} not found")


class IndexNotFound(NotFound):
    def __init__(self, dataset_id: str, index_id: int | str) -> None:
        super().__init__(f"Index {index_id} of DataSet {dataset_id} not found")


class DataVersionNotFound(NotFound):
    def __init__(self, dataset_id: str, version: int | str) -> None:
        super().__init__(f"Data version {version} of DataSet {dataset_id} not found")
