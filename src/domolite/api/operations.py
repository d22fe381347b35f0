"""For operators: GET /health (the process answers), GET /ready (its catalog and lake answer), GET /metrics
(Prometheus), and the API reference: Swagger UI at /docs, its assets served by this process (no CDN)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

from domolite.api.deps import ReadinessDep
from domolite.api.responses import JSON
from domolite.api.routing import Router
from domolite.server import metrics

# The Swagger UI assets (swagger-ui-bundle.js, swagger-ui.css, favicon.png) that the fastapi-offline package ships.
SWAGGER_ASSETS = Path(importlib.util.find_spec("fastapi_offline").origin or "").parent / "static"  # type: ignore[union-attr]

router = Router(tags=["operations"])
READY_WAIT_S = 5.0
DOCS_ASSETS = "/docs/assets"

_STATUS = {"type": "object", "properties": {"status": {"type": "string"}}}
_READY = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ready", "unavailable"]},
        "checks": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@router.get("/health", responses={200: _json(_STATUS, "The process is alive.")})
def health() -> JSON:
    """The process answers."""
    return JSON({"status": "ok"})


@router.get(
    "/ready",
    responses={
        200: _json(_READY, "The catalog and the lake answer."),
        503: _json(_READY, "The catalog or the lake does not answer (within 5 s)."),
    },
)
async def ready(readiness: ReadinessDep) -> JSON:
    """Whether the catalog and the lake answer (within 5 s): 200 when both do, 503 saying which does not."""
    checks = {"catalog": "no answer in time", "lake": "no answer in time"}
    with anyio.move_on_after(READY_WAIT_S):
        checks = await anyio.to_thread.run_sync(readiness.check, abandon_on_cancel=True)
    ok = all(v == "ok" for v in checks.values())
    return JSON({"status": "ready" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format.",
            "content": {metrics.CONTENT_TYPE: {"schema": {"type": "string", "description": "Metrics, one a line."}}},
        }
    },
)
def prometheus() -> Response:
    """The server's metrics in Prometheus text format."""
    return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE)


def install_docs(app: FastAPI) -> None:
    """Swagger UI at /docs over /openapi.json, its assets from this process."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=SWAGGER_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="domolite API reference",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )
