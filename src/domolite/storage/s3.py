"""The only module that talks to S3 (boto3). For an export it checks the bucket, streams multipart uploads with
a bounded number of parts in memory, aborts them, and turns every botocore error into `S3Refused` with an
errorCode and a plain message that holds no secret. For a lake in S3 (`LakeBucket`) it keeps the staged parts of
executions as objects, and gives DuckDB the secret it reads and writes the lake with.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
)
from pydantic import SecretStr

from domolite.errors import Busy, S3Refused
from domolite.models.exports import ErrorCode, S3Credentials, S3Target
from domolite.settings import Settings

if TYPE_CHECKING:
    import boto3

log = logging.getLogger("domolite.s3")

T = TypeVar("T")

_CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "InvalidClientTokenId",
        "TokenRefreshRequired",
        "AuthFailure",
    }
)
# Each part carries its CRC32, which S3 checks, and the object gets a composite checksum of them: what boto3's
# own upload_file does. Without it S3 stores a full-object CRC64NVME, which the store must compute over the
# whole object when it is completed (for moto, a second pass over every byte).
PART_CHECKSUM = "CRC32"
_REGION_CODES = frozenset({"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"})


_SESSION_LOCK = threading.Lock()
_SESSIONS: list[boto3.session.Session] = []


def _session() -> boto3.session.Session:
    """One boto3 Session for the process, holding no credentials: it keeps the parsed service models, so a
    client costs milliseconds instead of the ~0.1 s of loading them again. Each client gets the request's
    credentials explicitly, so the server's own AWS identity is never used. Call with `_SESSION_LOCK` held."""
    if not _SESSIONS:
        import boto3  # here, not at the top: a server with nothing in S3 starts without it (~0.3 s)

        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


def _client(
    region: str | None,
    endpoint_url: str | None,
    path_style: bool,
    keys: tuple[str | None, str | None, str | None],
    *,
    pool: int,
) -> Any:
    """A boto3 S3 client with the given keys (access key, secret, session token; all None: the AWS chain), bounded
    retries and timeouts, and `pool` connections."""
    from botocore.config import Config

    config = Config(
        region_name=region,
        signature_version="s3v4",
        s3={"addressing_style": "path" if path_style else "auto"},
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=pool,
    )
    access_key, secret_key, session_token = keys
    with _SESSION_LOCK:  # a Session is not thread-safe; the clients it makes are
        return _session().client(
            "s3",
            region_name=region,
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            aws_session_token=session_token,
            config=config,
        )


class S3:
    """One export's connection to its bucket, with the request's credentials (kept only by this object)."""

    def __init__(self, credentials: S3Credentials, target: S3Target, *, part_bytes: int, upload_threads: int) -> None:
        self.target = target
        self.part_bytes = part_bytes
        self._secrets = credentials.secrets()
        self._client = _client(
            target.region,
            target.endpoint_url,
            target.path_style,
            (credentials.access_key, credentials.secret_key, credentials.session_token),
            pool=upload_threads + 4,
        )
        self._pool = ThreadPoolExecutor(max_workers=upload_threads, thread_name_prefix="s3-part")
        self._in_flight = threading.BoundedSemaphore(upload_threads)
        # Objects are completed one at a time, in the order they were finished, by a thread of their own: a
        # completion waits for its object's parts, which the part threads send.
        self._completer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3-complete")

    def close(self) -> None:
        self._completer.shutdown(wait=True, cancel_futures=True)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()
        self._secrets = ()

    def url(self, key: str) -> str:
        return f"s3://{self.target.bucket}/{key}"

    # -- errors ----------------------------------------------------------------------------------------------
    def _call(self, action: str, fn: Callable[..., T], **kwargs: Any) -> T:
        try:
            return fn(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise self.translate(exc, action) from None

    def translate(self, exc: Exception, action: str) -> S3Refused:
        """A botocore error as an S3Refused: errorCode and a message with no secret in it."""
        bucket = self.target.bucket
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            if code in _CREDENTIAL_CODES:
                result = S3Refused(
                    ErrorCode.BAD_CREDENTIALS,
                    f"S3 rejected the credentials ({code}) while {action}; "
                    "check awsAccessKey, awsAccessSecret and sessionToken",
                )
            elif code in ("NoSuchBucket", "404") or (status == 404 and code != "NoSuchUpload"):
                result = S3Refused(ErrorCode.BUCKET_NOT_FOUND, f"bucket {bucket} does not exist")
            elif code in _REGION_CODES:
                result = S3Refused(
                    ErrorCode.REGION_MISMATCH,
                    f"bucket {bucket} is not in {self.target.region} ({code}); the request's region must be "
                    "the bucket's region",
                )
            elif "KMS" in code.upper():
                result = S3Refused(ErrorCode.KMS_ERROR, f"S3 could not use the KMS key ({code}) while {action}")
            elif code in ("AccessDenied", "403", "AllAccessDisabled") or status == 403:
                result = S3Refused(ErrorCode.ACCESS_DENIED, f"S3 denied access to bucket {bucket} while {action}")
            else:
                result = S3Refused(ErrorCode.S3_ERROR, f"S3 answered {code} (HTTP {status}) while {action}")
        elif isinstance(exc, NoCredentialsError):
            result = S3Refused(ErrorCode.BAD_CREDENTIALS, "no AWS credentials were given")
        elif isinstance(exc, ConnectionError | HTTPClientError):
            where = self.target.endpoint_url or "AWS S3"
            result = S3Refused(ErrorCode.S3_UNREACHABLE, f"S3 could not be reached at {where} while {action}")
        elif isinstance(exc, ParamValidationError):
            result = S3Refused(ErrorCode.S3_ERROR, f"the S3 request is invalid while {action}")
        else:
            result = S3Refused(ErrorCode.S3_ERROR, f"S3 failed ({type(exc).__name__}) while {action}")
        result.message = self.scrub(result.message)
        return result

    def answered(self, reply: dict[str, Any], name: str, action: str) -> str:
        """The field `name` of S3's answer to `action`. An answer without it was cut short (the connection broke
        while S3 answered): that is S3_UNREACHABLE, as a connection that broke before the answer is."""
        value = reply.get(name)
        if not value:
            where = self.target.endpoint_url or "AWS S3"
            raise S3Refused(ErrorCode.S3_UNREACHABLE, f"S3's answer from {where} was cut short while {action}")
        return str(value)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # -- the bucket ------------------------------------------------------------------------------------------
    def check_bucket(self) -> None:
        """Check that the bucket exists, that the credentials reach it and that it is in the request's region.

        Raises:
            S3Refused: BUCKET_NOT_FOUND, BAD_CREDENTIALS, ACCESS_DENIED, REGION_MISMATCH or S3_UNREACHABLE.
        """
        bucket, wanted = self.target.bucket, self.target.region
        region: str | None = None
        try:
            reply = self._client.head_bucket(Bucket=bucket)
            region = reply.get("BucketRegion") or _header(reply, "x-amz-bucket-region")
        except ClientError as exc:
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            region = _header(exc.response, "x-amz-bucket-region")
            if status == 404:
                raise self.translate(exc, f"looking up bucket {bucket}") from None
            if region and region != wanted:
                raise _mismatch(bucket, region, wanted) from None
            region = None  # a bodiless 403 or 400: GetBucketLocation says more
        except BotoCoreError as exc:
            raise self.translate(exc, f"looking up bucket {bucket}") from None
        if region is None:
            reply = self._call(f"looking up bucket {bucket}", self._client.get_bucket_location, Bucket=bucket)
            constraint = reply.get("LocationConstraint") or "us-east-1"
            region = "eu-west-1" if constraint == "EU" else str(constraint)
        if region != wanted:
            raise _mismatch(bucket, region, wanted)

    # -- objects ---------------------------------------------------------------------------------------------
    def _object_args(self, content_type: str) -> dict[str, Any]:
        args: dict[str, Any] = {"ContentType": content_type}
        if self.target.kms_key_id:
            args["ServerSideEncryption"] = "aws:kms"
            args["SSEKMSKeyId"] = self.target.kms_key_id
        return args

    def open_upload(self, key: str, content_type: str) -> MultipartUpload:
        reply = self._call(
            f"starting the upload of {key}",
            self._client.create_multipart_upload,
            Bucket=self.target.bucket,
            Key=key,
            ChecksumAlgorithm=PART_CHECKSUM,
            **self._object_args(content_type),
        )
        upload = MultipartUpload(self, key, self.answered(reply, "UploadId", f"starting the upload of {key}"))
        # A start the client sent again (its connection broke) may have started an upload the first time too.
        upload.start_retried = int(reply.get("ResponseMetadata", {}).get("RetryAttempts", 0) or 0) > 0
        return upload

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self._call(
            f"writing {key}",
            self._client.put_object,
            Bucket=self.target.bucket,
            Key=key,
            Body=body,
            **self._object_args(content_type),
        )

    def delete(self, key: str) -> None:
        self._call(f"deleting {key}", self._client.delete_object, Bucket=self.target.bucket, Key=key)

    def abort(self, key: str, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(Bucket=self.target.bucket, Key=key, UploadId=upload_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchUpload":
                return  # already gone
            raise self.translate(exc, f"aborting the upload of {key}") from None
        except BotoCoreError as exc:
            raise self.translate(exc, f"aborting the upload of {key}") from None

    def abort_uploads_under(self, prefix: str) -> int:
        """Abort every multipart upload whose key starts with `prefix` (ones S3 started without its answer
        reaching us); how many."""
        found: list[tuple[str, str]] = []
        markers: dict[str, str] = {}
        while True:
            reply = self._call(
                f"listing the uploads under {prefix}",
                self._client.list_multipart_uploads,
                Bucket=self.target.bucket,
                Prefix=prefix,
                **markers,
            )
            uploads = reply.get("Uploads", [])
            found += [(str(u["Key"]), str(u["UploadId"])) for u in uploads if u.get("Key") and u.get("UploadId")]
            if not reply.get("IsTruncated"):
                break
            action = f"listing the uploads under {prefix}"
            markers = {
                "KeyMarker": self.answered(reply, "NextKeyMarker", action),
                "UploadIdMarker": self.answered(reply, "NextUploadIdMarker", action),
            }
        for key, upload_id in found:
            self.abort(key, upload_id)
        return len(found)

    def retrying(self, what: Callable[[], None], deadline: float) -> bool:
        """Run a clean-up call until it works or `deadline` (monotonic) passes; retry S3_UNREACHABLE only."""
        delay = 0.2
        while True:
            try:
                what()
                return True
            except S3Refused as exc:
                if exc.code != ErrorCode.S3_UNREACHABLE or time.monotonic() + delay > deadline:
                    log.warning("export clean-up failed: %s", exc.message)
                    return False
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


class MultipartUpload:
    """One object being written: bytes are gathered into parts, sent by the S3 pool; at most `upload_threads`
    parts of the job are held in memory at once (writers block until a slot is free). A part is sent once
    `part_bytes` are gathered, so a part holds between `part_bytes` and `part_bytes` plus one write; only
    the last part may be smaller (S3's rule). The written chunks are joined once, with no other copy.

    `finish` ends the object and has it completed in the background (S3 joins the parts, which can take a while
    for a large object), so that the next object's parts can be written and sent meanwhile; `wait` waits for
    that completion."""

    def __init__(self, s3: S3, key: str, upload_id: str) -> None:
        self.s3 = s3
        self.key = key
        self.upload_id = upload_id
        self.size = 0
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._futures: list[Future[dict[str, Any]]] = []
        self._completion: Future[int] | None = None
        self._failed: S3Refused | None = None
        self.start_retried = False

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= self.s3.part_bytes:
            self._send_pending()

    def _send_pending(self) -> None:
        body = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending = []
        self._pending_bytes = 0
        self._send(body)

    def _send(self, body: bytes) -> None:
        self.raise_if_failed()
        self.s3._in_flight.acquire()
        number = len(self._futures) + 1
        self.size += len(body)
        try:
            future = self.s3._pool.submit(self._upload_part, number, body)
        except BaseException:
            self.s3._in_flight.release()
            raise
        future.add_done_callback(lambda _f: self.s3._in_flight.release())
        self._futures.append(future)

    def _upload_part(self, number: int, body: bytes) -> dict[str, Any]:
        if self._failed is not None:
            raise self._failed
        try:
            reply = self.s3._client.upload_part(
                Bucket=self.s3.target.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                PartNumber=number,
                Body=body,
                ChecksumAlgorithm=PART_CHECKSUM,
            )
        except (ClientError, BotoCoreError) as exc:
            self._failed = self.s3.translate(exc, f"uploading part {number} of {self.key}")
            raise self._failed from None
        try:
            etag = self.s3.answered(reply, "ETag", f"uploading part {number} of {self.key}")
        except S3Refused as exc:
            self._failed = exc
            raise
        part = {"PartNumber": number, "ETag": etag}
        if reply.get("ChecksumCRC32"):
            part["ChecksumCRC32"] = reply["ChecksumCRC32"]
        return part

    def raise_if_failed(self) -> None:
        """Raise the failure of a part or of the completion, if one has failed."""
        if self._failed is not None:
            raise self._failed

    def finish(self) -> int:
        """Send what is buffered and have the object completed, in the background, once every part is in.
        Returns its size in bytes; `wait` says when it is complete."""
        if self._completion is not None:
            raise RuntimeError(f"{self.key} was already finished")
        if self._pending or not self._futures:
            self._send_pending()
        self._completion = self.s3._completer.submit(self._complete)
        return self.size

    @property
    def finished(self) -> bool:
        """Whether `finish` was called: its completion was asked for."""
        return self._completion is not None

    @property
    def completed(self) -> bool:
        """Whether the completion asked for by `finish` has ended (well or not)."""
        return self._completion is not None and self._completion.done()

    def wait(self) -> int:
        """Wait for the completion asked for by `finish`; raise its failure. Returns the object's size."""
        if self._completion is None:
            raise RuntimeError(f"{self.key} was not finished")
        return self._completion.result()

    def _complete(self) -> int:
        parts = []
        try:
            for future in self._futures:
                try:
                    parts.append(future.result())
                except S3Refused:
                    raise
                except Exception as exc:
                    raise self.s3.translate(exc, f"uploading {self.key}") from None
            self.s3._call(
                f"completing {self.key}",
                self.s3._client.complete_multipart_upload,
                Bucket=self.s3.target.bucket,
                Key=self.key,
                UploadId=self.upload_id,
                MultipartUpload={"Parts": parts},
            )
        except S3Refused as exc:
            self._failed = self._failed or exc
            raise
        return self.size

    def stop(self) -> None:
        """Send nothing more: parts and a completion not yet started never will be (nothing is waited for)."""
        self._pending = []
        self._pending_bytes = 0
        for future in self._futures:
            future.cancel()
        if self._completion is not None:
            self._completion.cancel()

    def abandon(self) -> bool:
        """Stop sending: wait for parts in flight and for a completion already under way (their results are
        ignored) so that an abort is final. True when the object was completed all the same: it then exists,
        and is to be deleted rather than aborted."""
        self.stop()
        for future in self._futures:
            try:
                future.result()
            except Exception:
                pass
        if self._completion is None:
            return False
        try:
            self._completion.result()
        except Exception:  # it failed or was cancelled
            return False
        return True


def _header(reply: Any, name: str) -> str | None:
    value = reply.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get(name)
    return str(value) if value else None


def _mismatch(bucket: str, actual: str, wanted: str) -> S3Refused:
    return S3Refused(
        ErrorCode.REGION_MISMATCH,
        f"bucket {bucket} is in {actual}, the request says {wanted}; cross-region exports are not supported",
    )


# -- the lake's own bucket ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LakeBucket:
    """Where a lake in S3 lives (`s3://bucket/prefix`), how to reach it, and the server's own credentials: the
    settings' keys, or the usual AWS chain (environment, shared files, instance or task role) resolved by boto3
    when they are unset. Holds the objects of the staging area (`<prefix>/staging/`); the lake's Parquet files
    (`<prefix>/lake/`) are DuckDB's to write, with the secret `duckdb_secret_sql` makes."""

    url: str
    region: str
    endpoint_url: str | None = None
    path_style: bool = False
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    @property
    def bucket(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def prefix(self) -> str:
        """The key prefix, without slashes at its ends ('' for the bucket's root)."""
        return urlsplit(self.url).path.strip("/")

    def key(self, *names: str) -> str:
        return "/".join(p for p in (self.prefix, *names) if p)

    def url_of(self, *names: str) -> str:
        return f"s3://{self.bucket}/{self.key(*names)}"

    def with_credentials(self) -> LakeBucket:
        """This bucket with credentials filled from the AWS chain when the settings gave none (None stays when
        the chain has none either: S3 then refuses, and the first use says so)."""
        if self.access_key:
            return self
        import boto3

        found = boto3.session.Session().get_credentials()
        if found is None:
            return self
        frozen = found.get_frozen_credentials()
        return LakeBucket(
            self.url,
            self.region,
            self.endpoint_url,
            self.path_style,
            frozen.access_key,
            frozen.secret_key,
            frozen.token,
        )

    def duckdb_secret_sql(self, name: str) -> str:
        """CREATE SECRET for DuckDB's httpfs, scoped to this bucket and prefix."""

        def quoted(value: str) -> str:
            return "'" + value.replace("'", "''") + "'"

        options = [f"TYPE s3, REGION {quoted(self.region)}", f"SCOPE {quoted(self.url_of())}"]
        if self.access_key:
            options.append(f"KEY_ID {quoted(self.access_key)}, SECRET {quoted(self.secret_key or '')}")
        if self.session_token:
            options.append(f"SESSION_TOKEN {quoted(self.session_token)}")
        if self.endpoint_url:
            parts = urlsplit(self.endpoint_url)
            endpoint = parts.netloc or parts.path
            options.append(f"ENDPOINT {quoted(endpoint)}, USE_SSL {'false' if parts.scheme == 'http' else 'true'}")
        options.append(f"URL_STYLE {quoted('path' if self.path_style else 'vhost')}")
        return f"CREATE OR REPLACE SECRET {name} ({', '.join(options)})"


def lake_bucket(settings: Settings) -> LakeBucket | None:
    """The lake's bucket, when `lake_url` puts the lake in S3."""
    if settings.lake_url is None:
        return None

    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    return LakeBucket(
        settings.lake_url,
        settings.lake_s3_region,
        settings.lake_s3_endpoint_url,
        settings.lake_s3_url_style == "path",
        secret(settings.lake_s3_access_key),
        secret(settings.lake_s3_secret_key),
        secret(settings.lake_s3_session_token),
    )


class LakeObjects:
    """The staging area of a lake in S3: whole files put and copied under `<prefix>/staging/`, listed and
    deleted. Every failure is a `Busy` (503, retryable): nothing a request asked was changed. Without keys in
    the settings, the client takes the AWS chain itself (and so renews temporary credentials)."""

    def __init__(self, bucket: LakeBucket) -> None:
        self.bucket = bucket
        self._client = _client(
            bucket.region,
            bucket.endpoint_url,
            bucket.path_style,
            (bucket.access_key, bucket.secret_key, bucket.session_token),
            pool=16,
        )

    def close(self) -> None:
        self._client.close()

    def _call(self, action: str, fn: Callable[..., T], **kwargs: Any) -> T:
        try:
            return fn(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            detail = exc.response.get("Error", {}).get("Code", "?") if isinstance(exc, ClientError) else "unreachable"
            log.warning("the lake's bucket refused %s: %s", action, type(exc).__name__)
            raise Busy(f"the lake's object store failed while {action} ({detail}); nothing was changed", 2) from None

    def put_file(self, path: Path, key: str) -> None:
        """Upload a file whole (multipart when large, by boto3's transfer manager)."""
        self._call(f"storing {key}", self._client.upload_file, Filename=str(path), Bucket=self.bucket.bucket, Key=key)

    def put_bytes(self, data: bytes, key: str) -> None:
        self._call(f"storing {key}", self._client.put_object, Bucket=self.bucket.bucket, Key=key, Body=data)

    def get_file(self, key: str, path: Path) -> None:
        self._call(f"reading {key}", self._client.download_file, Bucket=self.bucket.bucket, Key=key, Filename=str(path))

    def copy(self, source: str, key: str) -> None:
        """Copy an object within the bucket (S3 copies it; nothing passes through this process)."""
        self._call(
            f"placing {key}",
            self._client.copy,
            CopySource={"Bucket": self.bucket.bucket, "Key": source},
            Bucket=self.bucket.bucket,
            Key=key,
        )

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            self._call(
                "deleting staged parts",
                self._client.delete_objects,
                Bucket=self.bucket.bucket,
                Delete={"Objects": batch, "Quiet": True},
            )

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key under `prefix`."""
        token: str | None = None
        while True:
            args: dict[str, Any] = {"Bucket": self.bucket.bucket, "Prefix": prefix}
            if token:
                args["ContinuationToken"] = token
            page = self._call("listing staged parts", self._client.list_objects_v2, **args)
            for item in page.get("Contents", []):
                yield str(item["Key"])
            if not page.get("IsTruncated"):
                return
            token = str(page["NextContinuationToken"])
