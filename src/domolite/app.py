"""create_app(settings) -> FastAPI: services, routers, error handlers, toe middleware, recovery at start."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI

from domolite import web
from domolite.api import errors as api_errors
from domolite.api import instance as instance_api
from domolite.api import openapi
from domolite.api import operations as operations_api
from domolite.api.instance import accesstokens as accesstokens_api
from domolite.api.instance import accounts as accounts_api
from domolite.api.instance import exports as exports_api
from domolite.api.instance import sharing as sharing_api
from domolite.api.middleware import ToeMiddleware
from domolite.api.public import audit as audit_api
from domolite.api.public import datasets as datasets_api
from domolite.api.public import directory as directory_api
from domolite.api.public import oauth as oauth_api
from domolite.api.public import policies as policies_api
from domolite.api.public import streams as streams_api
from domolite.server.liveness import IsGone
from domolite.services import build_services, remove_orphans
from domolite.settings import Settings

log = logging.getLogger("domolite")


def create_app(settings: Settings) -> FastAPI:
    services = build_services(settings)

    def recover(is_gone: IsGone) -> None:
        services.ingest.recover(is_gone)
        services.exports.recover(is_gone)
        services.versions.recover(is_gone)
        services.door.recover(is_gone)

    services.liveness.register()
    services.liveness.settle(recover)  # what server processes that are gone left running
    services.ingest.remove_ended_parts()
    remove_orphans(services)
    services.uploads.settle_partition_deletions()
    services.datasets.reconcile_schemas()
    services.datasets.reconcile_row_counts()
    services.accounts.check_key()

    def stop() -> None:
        services.door.stop()  # closes the downloads still running
        services.lake.stop()  # interrupts the queries, exports and commits still running
        services.runs.stop()
        services.exports.close()
        services.runs.close()
        services.liveness.stop()
        services.door.close()
        services.lake.close()
        services.catalog.close()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # The threads (the scheduler, the heartbeat) start with the served app and stop with it.
        services.runs.start()
        services.liveness.start(recover)
        try:
            yield
        finally:
            # On a worker thread: the requests the server has just cancelled end on the event loop meanwhile
            # (a download's end closes its pipe, which DuckDB may be blocked on).
            await anyio.to_thread.run_sync(stop)

    app = FastAPI(
        title="domolite",
        lifespan=lifespan,
        redirect_slashes=False,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.services = services
    api_errors.install(app)
    openapi.install(app)
    operations_api.install_docs(app)
    app.add_middleware(ToeMiddleware)
    access_routers = (directory_api, sharing_api, policies_api, accesstokens_api, accounts_api, audit_api)
    routers = (oauth_api, datasets_api, streams_api, *access_routers, *instance_api.MODULES, exports_api)
    for module in (*routers, operations_api):
        app.include_router(module.router)
    web.install(app)  # the Data Center's pages at /
    return app
