"""The Data Center: server-rendered pages over the same services as the API, with their assets in the package."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    from domolite.web import admin, connectors, dataset, pages, upload

    for module in (pages, dataset, upload, connectors, admin):
        app.include_router(module.router)
    app.mount("/dc-static", StaticFiles(directory=STATIC_DIR), name="dc-static")
