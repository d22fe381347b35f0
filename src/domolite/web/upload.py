"""Upload: the page and its script. The browser itself sends the file through the Stream API (create the
stream or find the DataSet's, open an execution, parts in parallel, commit), authenticated by a short session
token the page carries, so an upload from the page is an upload like any client's."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from domolite.api.deps import DataSetsDep, SessionsDep
from domolite.web.pages import dataset_choices
from domolite.web.render import page
from domolite.web.routing import web_router
from domolite.web.session import UserDep

router = web_router()
SCRIPT_TOKEN_LIFETIME_S = 3600
TYPES = ["STRING", "LONG", "DOUBLE", "DECIMAL", "DATE", "DATETIME"]


@router.get("/upload")
def upload_page(
    request: Request, principal: UserDep, sessions: SessionsDep, datasets: DataSetsDep, dataset: str = ""
) -> Response:
    token = sessions.issue(principal.user, SCRIPT_TOKEN_LIFETIME_S)
    return page(
        request,
        "upload.html",
        api_token=token,
        choices=dataset_choices(datasets, principal),
        chosen=dataset,
        types=TYPES,
    )
