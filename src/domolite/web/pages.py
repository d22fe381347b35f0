"""Sign in and out, the DataSets list and the SQL editor."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import Query, Request
from starlette.responses import Response

from domolite.api.deps import DataSetsDep, GuardDep, QueriesDep, SessionsDep, client_address
from domolite.api.public.datasets import dataset_view
from domolite.datasets.service import DataSets
from domolite.errors import DomoError, Unauthorized
from domolite.models.records import User
from domolite.query.service import Queries
from domolite.web.render import page, redirect
from domolite.web.routing import web_router
from domolite.web.session import (
    FormDep,
    UserDep,
    clear_session,
    safe_next,
    session_token,
    set_session,
    whole,
)

router = web_router()
PAGE_SIZE = 25
SORTS = {
    "name": "name",
    "owner": "owner",
    "rows": "rowcount",
    "columns": "columncount",
    "updated": "lastupdated",
    "created": "created",
}
SQL_SHOWN_ROWS = 1000


@router.get("/signin")
def sign_in_page(request: Request, sessions: SessionsDep, next: str = "/") -> Response:
    if session_token(request):
        try:
            sessions.verify(session_token(request))
            return redirect(safe_next(next))
        except DomoError:
            pass
    return page(request, "signin.html", next=safe_next(next), email="", failed="")


@router.post("/signin")
def sign_in(request: Request, sessions: SessionsDep, guard: GuardDep, form: FormDep) -> Response:
    email = form.get("email", "").strip()
    password = form.get("password", "")
    next_path = safe_next(form.get("next"))

    def log_in() -> tuple[User, str]:
        found = sessions.login(email, password)
        if found is None:
            raise Unauthorized("wrong e-mail or password")
        return found

    try:  # the same throttle and the same session as POST /api/content/v2/authentication
        _user, token = guard.attempt("session login", email.lower(), client_address(request), log_in)
    except Unauthorized:
        return page(request, "signin.html", status=401, next=next_path, email=email, failed="Wrong e-mail or password.")
    response = redirect(next_path)
    set_session(request, response, token, sessions.lifetime_s)
    return response


@router.post("/signout")
def sign_out(form: FormDep) -> Response:
    response = redirect("/signin", notice="You are signed out.")
    clear_session(response)
    return response


@router.get("/")
def datasets_list(
    request: Request,
    principal: UserDep,
    datasets: DataSetsDep,
    q: str = "",
    sort: str = "name",
    page_no: str = Query("1", alias="page"),
) -> Response:
    key = sort.lstrip("-")
    field = SORTS.get(key, "name")
    descending = sort.startswith("-")
    number = max(whole(page_no) or 1, 1)
    found = datasets.list(
        principal,
        limit=PAGE_SIZE + 1,
        offset=(number - 1) * PAGE_SIZE,
        name_like=q.strip(),
        sort=("-" if descending else "") + field,
    )
    rows = [dataset_view(v) for v in datasets.views(principal, found[:PAGE_SIZE])]
    return page(
        request,
        "datasets.html",
        datasets=rows,
        q=q,
        sort=key if key in SORTS else "name",
        descending=descending,
        page_no=number,
        has_next=len(found) > PAGE_SIZE,
    )


def dataset_choices(datasets: DataSets, principal: Any) -> list[dict[str, str]]:
    """The DataSets the user may read, by name, for pickers (the first 500)."""
    found = datasets.list(principal, limit=500, offset=0, name_like="", sort="name")
    return [{"id": d.id, "name": d.name} for d in found]


@router.get("/sql")
def sql_page(request: Request, principal: UserDep, datasets: DataSetsDep, dataset: str = "") -> Response:
    return page(
        request,
        "sql.html",
        choices=dataset_choices(datasets, principal),
        chosen=dataset,
        sql="SELECT * FROM table LIMIT 100",
        result=None,
        error="",
    )


@router.post("/sql")
def run_sql(
    request: Request, principal: UserDep, queries: QueriesDep, form: FormDep, datasets: DataSetsDep
) -> Response:
    dataset_id, sql = form.get("dataset", ""), form.get("sql", "")
    if form.get("download"):
        return _sql_csv(queries, principal, dataset_id, sql)
    result: dict[str, Any] | None = None
    error = ""
    try:
        _dataset, found = queries.run(principal, dataset_id, sql)
        result = {"columns": found.columns, "rows": found.rows[:SQL_SHOWN_ROWS], "total": len(found.rows)}
    except DomoError as exc:
        error = exc.message
    choices = dataset_choices(datasets, principal)
    return page(
        request,
        "sql.html",
        status=200 if not error else 400,
        choices=choices,
        chosen=dataset_id,
        sql=sql,
        result=result,
        error=error,
        shown=SQL_SHOWN_ROWS,
    )


def _sql_csv(queries: Queries, principal: Any, dataset_id: str, sql: str) -> Response:
    """The whole result of the SQL (up to the query row cap) as a CSV file, through the same door as the API."""
    dataset, found = queries.run(principal, dataset_id, sql)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(found.columns)
    writer.writerows(found.rows)
    name = "".join(ch if ch.isalnum() or ch in "-_ " else "_" for ch in dataset.name).strip() or "result"
    return Response(
        out.getvalue().encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-query.csv"'},
    )
