"""A DataSet's pages: Overview, Data, History, Partitions, Permissions, PDP, Export to S3 and Delete. Every read
goes through the services the API uses (the door applies permissions and PDP)."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Request
from starlette.responses import Response

from domolite.access.policies import FilterSpec, PolicySpec
from domolite.api.deps import (
    DataSetsDep,
    DirectoryDep,
    ExportsDep,
    PoliciesDep,
    QueriesDep,
    SharingDep,
    StreamsDep,
    UploadsDep,
    VersionsDep,
)
from domolite.api.instance.export_schemas import ExportIn, export_out
from domolite.api.public.datasets import dataset_view
from domolite.auth.directory import Directory
from domolite.datasets.service import DataSets
from domolite.errors import InvalidField
from domolite.models.access import AccessLevel, FilterOperator, GranteeType
from domolite.models.records import DataSet, Principal
from domolite.web.render import page, redirect
from domolite.web.routing import web_router
from domolite.web.session import FormDep, UserDep, form_list, whole

router = web_router()
PREVIEW_ROWS = 50
LEVELS = [level.value for level in AccessLevel if level is not AccessLevel.OWNER]
OPERATORS = [op.value for op in FilterOperator]
TABS = [
    ("overview", "Overview"),
    ("data", "Data"),
    ("history", "History"),
    ("partitions", "Partitions"),
    ("permissions", "Permissions"),
    ("pdp", "PDP"),
    ("export", "Export to S3"),
    ("delete", "Delete"),
]


def base(dataset_id: str) -> str:
    return f"/datasources/{dataset_id}/details"


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _tab(
    request: Request, datasets: DataSets, principal: Principal, dataset: DataSet, tab: str, **ctx: Any
) -> Response:
    return page(
        request,
        f"dataset_{tab}.html",
        dataset=dataset_view(datasets.view(principal, dataset)),
        tab=tab,
        tabs=TABS,
        base=base(dataset.id),
        **ctx,
    )


@router.get("/datasources/{dataset_id}/details/overview")
def overview(
    request: Request, dataset_id: str, principal: UserDep, datasets: DataSetsDep, streams: StreamsDep
) -> Response:
    dataset = datasets.get(principal, dataset_id)
    found = streams.search(principal, f"dataSource.id:{dataset.id}")
    stream = found[0][0] if found else None
    return _tab(request, datasets, principal, dataset, "overview", stream=stream, schema=dataset.columns)


@router.get("/datasources/{dataset_id}/details/data")
def data(
    request: Request,
    dataset_id: str,
    principal: UserDep,
    datasets: DataSetsDep,
    queries: QueriesDep,
    sort: str = "",
    dir: str = "asc",
    page_no: str = Query("1", alias="page"),
    version: str = "",
) -> Response:
    dataset = datasets.get(principal, dataset_id)
    names = [c.name for c in dataset.columns]
    number = max(whole(page_no) or 1, 1)
    at = whole(version)
    sql = "SELECT * FROM table"
    if sort in names:
        sql += f" ORDER BY {quote_ident(sort)} {'DESC' if dir == 'desc' else 'ASC'}"
    else:
        sort = ""
    _dataset, result = queries.run(
        principal, dataset.id, sql, limit=PREVIEW_ROWS + 1, offset=(number - 1) * PREVIEW_ROWS, version=at
    )
    return _tab(
        request,
        datasets,
        principal,
        dataset,
        "data",
        columns=result.columns,
        rows=result.rows[:PREVIEW_ROWS],
        has_next=len(result.rows) > PREVIEW_ROWS,
        page_no=number,
        first_row=(number - 1) * PREVIEW_ROWS + 1,
        sort=sort,
        dir="desc" if dir == "desc" else "asc",
        version=at,
    )


@router.get("/datasources/{dataset_id}/details/history")
def history(
    request: Request, dataset_id: str, principal: UserDep, datasets: DataSetsDep, versions: VersionsDep
) -> Response:
    dataset = datasets.get(principal, dataset_id)
    found = list(reversed(versions.of(dataset)))
    hidden = datasets.counts_hidden(principal, dataset)
    return _tab(request, datasets, principal, dataset, "history", versions=found, hidden=hidden)


@router.get("/datasources/{dataset_id}/details/partitions")
def partitions(
    request: Request, dataset_id: str, principal: UserDep, datasets: DataSetsDep, uploads: UploadsDep
) -> Response:
    dataset = datasets.get(principal, dataset_id)
    found = uploads.partitions(principal, dataset.id, include_deleted=False, descending=True)
    hidden = datasets.counts_hidden(principal, dataset)  # as the API's partition list hides them
    return _tab(request, datasets, principal, dataset, "partitions", partitions=found, hidden=hidden)


# -- permissions -----------------------------------------------------------------------------------------------


def _people(directory: Directory, principal: Principal) -> tuple[list[Any], list[Any]]:
    users = [u for u, _created in directory.list_users(principal, limit=500, offset=0)]
    groups = directory.list_groups(principal, limit=500, offset=0)
    return users, groups


@router.get("/datasources/{dataset_id}/details/permissions")
def permissions(
    request: Request,
    dataset_id: str,
    principal: UserDep,
    datasets: DataSetsDep,
    sharing: SharingDep,
    directory: DirectoryDep,
) -> Response:
    dataset = datasets.get(principal, dataset_id)
    entries = sharing.access_list(principal, dataset.id)
    users, groups = _people(directory, principal)
    return _tab(
        request, datasets, principal, dataset, "permissions", entries=entries, users=users, groups=groups, levels=LEVELS
    )


def _grantee(value: str) -> tuple[GranteeType, int]:
    kind, _, text = value.partition(":")
    number = whole(text)
    if number is None:
        raise InvalidField("grantee", "choose a user or a group")
    return GranteeType.parse(kind.upper(), "grantee"), number


@router.post("/datasources/{dataset_id}/share")
def share(dataset_id: str, principal: UserDep, sharing: SharingDep, form: FormDep) -> Response:
    kind, grantee_id = _grantee(form.get("grantee", ""))
    level = AccessLevel.parse(form.get("level", "READ"))
    sharing.share(principal, dataset_id, [(kind, grantee_id, level)])
    return redirect(f"{base(dataset_id)}/permissions", notice=f"Shared at {level.value}.")


@router.post("/datasources/{dataset_id}/revoke")
def revoke(dataset_id: str, principal: UserDep, sharing: SharingDep, form: FormDep) -> Response:
    kind, grantee_id = _grantee(form.get("grantee", ""))
    sharing.revoke(principal, dataset_id, [(kind, grantee_id)])
    return redirect(f"{base(dataset_id)}/permissions", notice="Access revoked.")


# -- PDP -------------------------------------------------------------------------------------------------------


@router.get("/datasources/{dataset_id}/details/pdp")
def pdp(
    request: Request,
    dataset_id: str,
    principal: UserDep,
    datasets: DataSetsDep,
    policies: PoliciesDep,
    directory: DirectoryDep,
    edit: str = "",
) -> Response:
    dataset = datasets.get(principal, dataset_id)
    found = policies.list(principal, dataset.id)
    editing = next((p for p in found if str(p.id) == edit and not p.is_open), None)
    users, groups = _people(directory, principal)
    return _tab(
        request,
        datasets,
        principal,
        dataset,
        "pdp",
        policies=found,
        editing=editing,
        users=users,
        groups=groups,
        operators=OPERATORS,
        schema=dataset.columns,
        user_names={u.id: u.name for u in users},
        group_names={g.id: g.name for g in groups},
    )


def _policy_spec(request: Request, form: dict[str, str]) -> PolicySpec:
    """The policy a form asks for. Values come one per line (a value may hold a comma). A policy of several
    filters is edited for its name, users and groups only: the form keeps its filters (`keep_filters`)."""
    values = tuple(v.strip() for v in form.get("values", "").splitlines() if v.strip())
    filters: tuple[FilterSpec, ...] | None = (
        (FilterSpec(form.get("column", ""), form.get("operator", "EQUALS"), values, form.get("negate") == "on"),)
        if form.get("column")
        else ()
    )
    if form.get("keep_filters") == "1":
        filters = None
    return PolicySpec(
        name=form.get("name", ""),
        type="user",
        filters=filters,
        user_ids=tuple(n for u in form_list(request, "users") if (n := whole(u)) is not None),
        group_ids=tuple(n for g in form_list(request, "groups") if (n := whole(g)) is not None),
    )


@router.post("/datasources/{dataset_id}/pdp")
def save_policy(
    request: Request, dataset_id: str, principal: UserDep, policies: PoliciesDep, form: FormDep
) -> Response:
    spec = _policy_spec(request, form)
    policy_id = whole(form.get("policy", ""))
    if policy_id is not None:
        policies.update(principal, dataset_id, policy_id, spec)
        return redirect(f"{base(dataset_id)}/pdp", notice=f"Policy {spec.name!r} saved.")
    policies.create(principal, dataset_id, spec)
    return redirect(f"{base(dataset_id)}/pdp", notice=f"Policy {spec.name!r} created.")


@router.post("/datasources/{dataset_id}/pdp/delete")
def delete_policy(dataset_id: str, principal: UserDep, policies: PoliciesDep, form: FormDep) -> Response:
    policy_id = whole(form.get("policy", ""))
    if policy_id is None:
        raise InvalidField("policy", "choose a policy")
    policies.delete(principal, dataset_id, policy_id)
    return redirect(f"{base(dataset_id)}/pdp", notice="Policy deleted.")


@router.post("/datasources/{dataset_id}/pdp/enabled")
def set_pdp(dataset_id: str, principal: UserDep, policies: PoliciesDep, form: FormDep) -> Response:
    enabled = form.get("enabled") == "true"
    policies.set_enabled(principal, dataset_id, enabled)
    return redirect(f"{base(dataset_id)}/pdp", notice="PDP is on." if enabled else "PDP is off.")


# -- export ----------------------------------------------------------------------------------------------------


@router.get("/datasources/{dataset_id}/details/export")
def export(
    request: Request, dataset_id: str, principal: UserDep, datasets: DataSetsDep, exports: ExportsDep
) -> Response:
    dataset = datasets.get(principal, dataset_id)
    jobs = [export_out(job, detail=True) for job in exports.for_dataset(principal, dataset.id)]
    jobs.reverse()
    return _tab(request, datasets, principal, dataset, "export", jobs=jobs)


@router.post("/datasources/{dataset_id}/export")
def start_export(dataset_id: str, principal: UserDep, exports: ExportsDep, form: FormDep) -> Response:
    body: dict[str, Any] = {
        "awsAccessKey": form.get("awsAccessKey"),
        "awsAccessSecret": form.get("awsAccessSecret"),
        "sessionToken": form.get("sessionToken") or None,
        "bucket": form.get("bucket"),
        "region": form.get("region"),
        "path": form.get("path") or None,
        "exportFormat": form.get("exportFormat") or "csv",
        "compression": form.get("compression") or None,
        "endpointUrl": form.get("endpointUrl") or None,
        "queryRequest": {"includeBOM": form.get("includeBOM") == "on", "query": {}},
    }
    request = ExportIn.model_validate(body).to_domain()  # the API's own parsing, field names and errors
    job = exports.start(principal, dataset_id, request)
    return redirect(f"{base(dataset_id)}/export", notice=f"Export {job.id} started.")


# -- delete ----------------------------------------------------------------------------------------------------


@router.get("/datasources/{dataset_id}/details/delete")
def delete_page(request: Request, dataset_id: str, principal: UserDep, datasets: DataSetsDep) -> Response:
    dataset = datasets.get(principal, dataset_id)
    return _tab(request, datasets, principal, dataset, "delete")


@router.post("/datasources/{dataset_id}/delete")
def delete(dataset_id: str, principal: UserDep, datasets: DataSetsDep, form: FormDep) -> Response:
    dataset = datasets.get(principal, dataset_id)
    if form.get("confirm_name", "").strip() != dataset.name.strip():
        raise InvalidField("confirm_name", "type the DataSet's name exactly to delete it")
    datasets.delete(principal, dataset_id)
    return redirect("/", notice=f"DataSet {dataset.name!r} deleted.")
