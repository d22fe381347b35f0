"""/v1/datasets: the public DataSet API (CRUD, CSV import and export, SQL query)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request
from starlette.responses import Response

from domolite.api.body import LaterBody, body_chunks, body_of, flag, is_gzip, later_body
from domolite.api.deps import CallerDep, DataSetsDep, PrincipalDep, QueriesDep, SettingsDep, UploadsDep
from domolite.api.lifetime import request_cancel, until_hung_up
from domolite.api.openapi import answers_csv, body_csv, body_model
from domolite.api.public.schemas import DataSetIn, DataSetUpdateIn, PageQuery, QueryIn, dataset_out, query_out
from domolite.api.responses import JSON, JSONWithRows, PipedCSV, attachment
from domolite.api.routing import Router
from domolite.datasets.service import Owned
from domolite.models.records import UpdateMethod
from domolite.server.cancel import Cancel

router = Router()


def dataset_view(found: Owned) -> dict[str, Any]:
    """The public form of a DataSet as the caller sees it (see DataSets.view)."""
    return dataset_out(found.dataset, found.owner)


def page(limit: int | None, offset: int | None, default: int = 50, maximum: int = 50) -> tuple[int, int]:
    size = default if not limit or limit < 0 else min(limit, maximum)
    return size, max(offset or 0, 0)


@router.post("/v1/datasets", status_code=201, openapi_extra=body_model(DataSetIn))
def create_dataset(
    principal: PrincipalDep, body: Annotated[DataSetIn, body_of(DataSetIn)], datasets: DataSetsDep
) -> JSON:
    """Create a DataSet with its name, description, schema and owner (by default the caller); it is empty
    until data is imported, and has a stream of its own."""
    dataset, _stream = datasets.create(
        principal,
        name=body.name,
        description=body.description,
        columns=body.schema_.to_domain(),
        owner_id=body.owner.id if body.owner else None,
        pdp_enabled=body.pdp_enabled,
    )
    return JSON(dataset_view(datasets.view(principal, dataset)), status_code=201)


@router.get("/v1/datasets")
def list_datasets(
    principal: PrincipalDep,
    datasets: DataSetsDep,
    limit: PageQuery = None,
    offset: PageQuery = None,
    sort: str | None = None,
    nameLike: str = "",
) -> JSON:
    """The DataSets the caller may read, a page at a time (limit at most 50, offset), sorted by `sort` and
    narrowed to names containing `nameLike`."""
    size, start = page(limit, offset)
    found = datasets.list(principal, limit=size, offset=start, name_like=nameLike, sort=list_order(sort))
    return JSON([dataset_view(v) for v in datasets.views(principal, found)])


# Domo's other `sort` spellings as the service's sort keys: `...Ascending` and `...Descending` say the way, and a
# name alone is ascending, `-` before it descending, as pydomo sends them (`lastUpdated`, `-lastUpdated`). Card
# and error-state orders have nothing to order by here: creation order, as any unknown value.
_DOMO_SORTS = {
    "namedescending": "-name",
    "lasttouchedascending": "lastupdated",
    "lastupdatedascending": "lastupdated",
    "createdat": "created",
    "createdatascending": "created",
    "datasourceid": "id",
}


def list_order(sort: str | None) -> str | None:
    """The service's sort key for a `sort` value (see `_DOMO_SORTS`)."""
    if not sort:
        return sort
    mapped = _DOMO_SORTS.get(sort.lstrip("-+").lower())
    if mapped is None:
        return sort
    return mapped if mapped.startswith("-") or not sort.startswith("-") else "-" + mapped


@router.get("/v1/datasets/{dataset_id}")
def get_dataset(dataset_id: str, principal: PrincipalDep, datasets: DataSetsDep) -> JSON:
    """A DataSet's metadata: name, description, schema, owner, row and column counts, times and whether
    PDP is on. A PDP-filtered caller's row count is that of the rows they may read."""
    return JSON(dataset_view(datasets.view(principal, datasets.get(principal, dataset_id))))


@router.put("/v1/datasets/{dataset_id}", openapi_extra=body_model(DataSetUpdateIn))
def update_dataset(
    dataset_id: str,
    principal: PrincipalDep,
    body: Annotated[DataSetUpdateIn, body_of(DataSetUpdateIn)],
    datasets: DataSetsDep,
) -> JSON:
    """Change a DataSet's name, description, schema, PDP switch or owner; what is left out stays. A new
    schema keeps the rows of the columns it keeps."""
    dataset = datasets.update(
        principal,
        dataset_id,
        name=body.name,
        description=body.description,
        columns=body.schema_.to_domain() if body.schema_ else None,
        pdp_enabled=body.pdp_enabled,
        owner_id=body.owner.id if body.owner else None,
    )
    return JSON(dataset_view(datasets.view(principal, dataset)))


@router.delete("/v1/datasets/{dataset_id}", status_code=204)
def delete_dataset(dataset_id: str, principal: PrincipalDep, datasets: DataSetsDep) -> Response:
    """Delete a DataSet with everything attached to it: its data, stream and executions, shares and PDP
    policies. Its owner's, a co-owner's or an Admin's right."""
    datasets.delete(principal, dataset_id)
    return Response(status_code=204)


@router.put("/v1/datasets/{dataset_id}/data", status_code=204, openapi_extra=body_csv())
async def import_data(
    dataset_id: str,
    request: Request,
    principal: PrincipalDep,
    uploads: UploadsDep,
    updateMethod: str = "REPLACE",
) -> Response:
    """Import header-less CSV rows (plain, or gzip with Content-Encoding: gzip) as one data version that
    replaces the DataSet's rows (updateMethod=REPLACE, the default) or is added to them (APPEND)."""
    method = UpdateMethod.parse(updateMethod)
    chunks, gzip = body_chunks(request), lambda: is_gzip(request)
    await uploads.import_csv(principal, dataset_id, chunks, gzip=gzip, method=method)
    return Response(status_code=204)


@router.get("/v1/datasets/{dataset_id}/data", response_class=Response, openapi_extra=answers_csv())
def export_data(
    dataset_id: str,
    principal: PrincipalDep,
    queries: QueriesDep,
    includeHeader: str | None = None,
    fileName: str | None = None,
) -> PipedCSV:
    """The DataSet's rows as CSV, streamed as they are read; with includeHeader=true the first line names
    the columns, and fileName makes it a download. PDP filters the rows."""
    headers = {"Content-Disposition": attachment(fileName)} if fileName else {}
    return PipedCSV(queries.csv(principal, dataset_id, header=flag(includeHeader)), headers)


@router.post("/v1/datasets/query/execute/{dataset_id}", openapi_extra=body_model(QueryIn))
async def query_dataset(
    dataset_id: str,
    request: Request,
    caller: CallerDep,
    body: Annotated[LaterBody[QueryIn], later_body(QueryIn)],
    queries: QueriesDep,
    settings: SettingsDep,
) -> JSONWithRows:
    """Run SQL against the DataSet (`FROM table`): the columns, their types and the rows, as the caller
    may see them (PDP applies). A query that outlasts the server's deadline is stopped."""

    def run(cancel: Cancel) -> JSONWithRows:
        # One hand-off to a worker thread for the whole query: the caller first, then the body, as elsewhere.
        principal = caller.principal()
        dataset, result = queries.select(principal, dataset_id, body.value().sql, cancel=cancel)
        head, tail = query_out(dataset, result)
        return JSONWithRows(head, result.rows_json, tail)

    return await until_hung_up(request, run, request_cancel(request, settings.query_timeout_s))
