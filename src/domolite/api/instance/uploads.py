"""/api/...: three-stage uploads, data versions, partitions, data-version-hydrate and indexing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Request

from domolite.api.body import body_chunks, body_of, is_gzip, optional_count
from domolite.api.deps import DataSetsDep, PrincipalDep, UploadsDep, VersionsDep
from domolite.api.instance.schemas import (
    CommitIn,
    HydrateIn,
    IndexIn,
    PartitionListIn,
    UploadIn,
    data_version_out,
    epoch_ms,
    index_out,
    partition_out,
)
from domolite.api.openapi import body_csv, body_model
from domolite.api.public.schemas import IdPath, PageQuery
from domolite.api.responses import JSON
from domolite.api.routing import Router
from domolite.errors import InvalidField
from domolite.ingest.uploads import Committed

router = Router()

UPLOADS = "/api/data/v3/datasources/{dataset_id}/uploads"
PARTITIONS = "/api/query/v1/datasources/{dataset_id}"


# -- uploads -------------------------------------------------------------------------------------------------


def one_tag(data_tag: str | None, restate_data_tag: str | None) -> str | None:
    """The partition tag, given as `dataTag` or `restateDataTag` (both: the same)."""
    if data_tag and restate_data_tag and data_tag != restate_data_tag:
        raise InvalidField("restateDataTag", f"names {restate_data_tag!r} where dataTag names {data_tag!r}")
    return data_tag or restate_data_tag


@router.post(UPLOADS, openapi_extra=body_model(UploadIn))
async def open_upload(
    dataset_id: str,
    principal: PrincipalDep,
    body: Annotated[UploadIn, body_of(UploadIn)],
    uploads: UploadsDep,
    dataTag: str | None = None,
    restateDataTag: str | None = None,
) -> JSON:
    """Open a three-stage upload into the DataSet, for a partition when dataTag is given. With `values`
    (one row, split at `delimiter`), the row is appended and committed at once."""
    upload = await uploads.begin(
        principal, dataset_id, body.action, one_tag(dataTag, restateDataTag), body.values, body.delimiter
    )
    if isinstance(upload, Committed):  # the append-row upload
        return JSON(commit_out(upload, True))
    return JSON(
        {
            "dataSourceId": upload.dataset_id,
            "uploadId": upload.id,
            "requestedAsOf": epoch_ms(upload.created_at),
        }
    )


@router.put(UPLOADS + "/{upload_id}/parts/{part_no}", openapi_extra=body_csv())
async def upload_part(
    dataset_id: str,
    upload_id: IdPath,
    part_no: IdPath,
    request: Request,
    principal: PrincipalDep,
    uploads: UploadsDep,
) -> JSON:
    """Upload one part of the upload: header-less CSV rows (plain or gzip). Parts may come in any order;
    re-sending a part number replaces it."""
    chunks, gzip = body_chunks(request), lambda: is_gzip(request)
    upload, execution = await uploads.receive_part_of(principal, dataset_id, upload_id, part_no, chunks, gzip=gzip)
    return JSON({"dataSourceId": dataset_id, "uploadId": upload.id, "partId": part_no, "parts": execution.parts})


@router.put(UPLOADS + "/{upload_id}/commit", openapi_extra=body_model(CommitIn))
def commit_upload(
    dataset_id: str,
    upload_id: IdPath,
    principal: PrincipalDep,
    body: Annotated[CommitIn, body_of(CommitIn)],
    uploads: UploadsDep,
) -> JSON:
    """Commit the upload: its parts become one data version (REPLACE or APPEND), or with a dataTag the
    partition's rows, replacing what the partition held. Committing again answers the commit as it was."""
    done = uploads.commit(principal, dataset_id, upload_id, body.action, one_tag(body.data_tag, body.restate_data_tag))
    return JSON(commit_out(done, body.wants_index()))


def commit_out(done: Committed, index: bool) -> dict[str, Any]:
    e = done.execution
    return {
        "dataSourceId": done.upload.dataset_id,
        "uploadId": done.upload.id,
        "status": e.state.value,
        "uploadStatus": e.state.value,
        "action": e.update_method.value if done.data_tag is None else "APPEND",
        "dataTag": done.data_tag,
        "numRows": e.rows,
        "numBytes": e.bytes,
        "index": index,
    }


# -- data versions -------------------------------------------------------------------------------------------


@router.get("/api/data/v3/datasources/{dataset_id}/dataversions/details")
def data_versions(
    dataset_id: str,
    principal: PrincipalDep,
    versions: VersionsDep,
    datasets: DataSetsDep,
    limit: str | None = None,
    offset: str | None = None,
) -> JSON:
    """The DataSet's data versions, newest first (limit, offset): each one's rows, bytes, time, update
    method and partition. A PDP-filtered caller sees no row counts."""
    found = list(reversed(versions.of_id(principal, dataset_id)))  # newest first
    hidden = datasets.counts_hidden(principal, dataset_id)
    start = optional_count(offset, "offset") or 0
    size = optional_count(limit, "limit")
    page = found[start : start + size if size is not None else None]
    return JSON([data_version_out(v, hidden) for v in page])


@router.post("/api/dataprocessing/v2/dataflows/data-version-hydrate", openapi_extra=body_model(HydrateIn))
def hydrate(
    principal: PrincipalDep,
    body: Annotated[HydrateIn, body_of(HydrateIn)],
    versions: VersionsDep,
    datasets: DataSetsDep,
    engine: str = "MAGIC",
    limit: PageQuery = 500,
    offset: PageQuery = 0,
) -> JSON:
    """The data versions of a DataSet that a version window's expression selects (over dataId, numRows,
    rowCount, numBytes, recordedDate, dataTag, updateMethod), a page at a time."""
    del engine
    if body.version_window.type.upper() != "EXPRESSION":
        raise InvalidField("versionWindow.type", f"unsupported type {body.version_window.type!r}; use EXPRESSION")
    found = versions.hydrate(principal, body.data_source_id, body.version_window.expression)
    start, size = max(offset or 0, 0), max(limit if limit is not None else 500, 0)
    page = found[start : start + size]
    hidden = datasets.counts_hidden(principal, body.data_source_id)
    return JSON([data_version_out(v, hidden) for v in page])


# -- partitions ----------------------------------------------------------------------------------------------


@router.get(PARTITIONS + "/partition")
def partitions(dataset_id: str, principal: PrincipalDep, uploads: UploadsDep) -> JSON:
    """Every partition of the DataSet, emptied ones too: its tag and data version."""
    found = uploads.partitions(principal, dataset_id, include_deleted=True)
    return JSON([{"partitionId": p.tag, "dataId": p.data_id} for p in found])


def _moment(value: Any, where: str) -> datetime | None:
    """MIN/MAX of dateCompleted: epoch milliseconds or an ISO date-time."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000, UTC).replace(tzinfo=None)
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    except ValueError:
        raise InvalidField(where, f"{value!r} is neither epoch milliseconds nor an ISO date-time") from None
    except (OverflowError, OSError):  # a number or an offset past the years 1 to 9999
        raise InvalidField(where, f"{value!r} is out of the range of dates (years 1 to 9999)") from None


@router.post(PARTITIONS + "/partition/list", openapi_extra=body_model(PartitionListIn))
def list_partitions(
    dataset_id: str,
    principal: PrincipalDep,
    body: Annotated[PartitionListIn, body_of(PartitionListIn)],
    uploads: UploadsDep,
    datasets: DataSetsDep,
) -> JSON:
    """The DataSet's partitions that hold data, by date completed (ASC or DESC, between MIN and MAX), a
    page at a time: tag, data version, date completed and row count."""
    descending = False
    low = high = None
    for i, f in enumerate(body.pagination_fields):
        if f.field_name.lower() not in ("datecompleted", "date_completed"):
            raise InvalidField(
                f"paginationFields[{i}].fieldName", f"unsupported field {f.field_name!r}; use datecompleted"
            )
        if f.sort_order.upper() not in ("ASC", "DESC"):
            raise InvalidField(f"paginationFields[{i}].sortOrder", f"{f.sort_order!r} is not ASC or DESC")
        descending = f.sort_order.upper() == "DESC"
        if f.filter_values is not None:
            low = _moment(f.filter_values.min, f"paginationFields[{i}].filterValues.MIN")
            high = _moment(f.filter_values.max, f"paginationFields[{i}].filterValues.MAX")
    found = uploads.partitions(
        principal,
        dataset_id,
        include_deleted=False,
        descending=descending,
        completed_min=low,
        completed_max=high,
        limit=body.limit,
        offset=body.offset,
    )
    hidden = datasets.counts_hidden(principal, dataset_id)
    return JSON([partition_out(p, hidden) for p in found])


@router.delete(PARTITIONS + "/tag/{tag:path}/data")
def delete_partition_data(dataset_id: str, tag: str, principal: PrincipalDep, uploads: UploadsDep) -> JSON:
    """Empty a partition: its rows leave the DataSet, the partition stays (deleted)."""
    p = uploads.delete_partition_data(principal, dataset_id, tag)
    return JSON({"dataSourceId": dataset_id, "partitionId": p.tag, "dataId": p.data_id, "deleted": p.deleted})


@router.delete(PARTITIONS + "/partition/{tag:path}")
def remove_partition(dataset_id: str, tag: str, principal: PrincipalDep, uploads: UploadsDep) -> JSON:
    """Forget a partition's tag; rows still carrying it stay (empty the partition first to remove them)."""
    uploads.remove_partition(principal, dataset_id, tag)
    return JSON({"dataSourceId": dataset_id, "partitionId": tag, "removed": True})


# -- index ---------------------------------------------------------------------------------------------------


@router.post("/api/data/v3/datasources/{dataset_id}/indexes", openapi_extra=body_model(IndexIn))
def index(
    dataset_id: str, principal: PrincipalDep, body: Annotated[IndexIn, body_of(IndexIn)], versions: VersionsDep
) -> JSON:
    """Index the DataSet: its data files are merged (every committed version is queryable already).
    Answers the index request and its status."""
    del body  # dataIds: every committed version is already queryable
    return JSON(index_out(versions.index(principal, dataset_id)))


@router.get("/api/data/v3/datasources/{dataset_id}/indexes/{index_id}/statuses")
def index_status(dataset_id: str, index_id: IdPath, principal: PrincipalDep, versions: VersionsDep) -> JSON:
    """The status of an index request of the DataSet."""
    return JSON(index_out(versions.index_status(principal, dataset_id, index_id)))


@router.post(PARTITIONS)
def index_now(dataset_id: str, principal: PrincipalDep, versions: VersionsDep) -> JSON:
    """Index the DataSet now (as POST .../indexes does)."""
    return JSON(index_out(versions.index(principal, dataset_id)))
