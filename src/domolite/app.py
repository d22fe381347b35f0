"""create_app(settings) -> FastAPI: services, routers, error handlers, toe middleware, recovery at start."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import anyio
from fastapi import FastAPI

from domolite.accounts import Accounts
from domolite.api import accesstokens as accesstokens_api
from domolite.api import accounts as accounts_api
from domolite.api import audit as audit_api
from domolite.api import datasets as datasets_api
from domolite.api import directory as directory_api
from domolite.api import errors as api_errors
from domolite.api import exports as exports_api
from domolite.api import instance as instance_api
from domolite.api import oauth as oauth_api
from domolite.api import openapi
from domolite.api import operations as operations_api
from domolite.api import policies as policies_api
from domolite.api import sharing as sharing_api
from domolite.api import streams as streams_api
from domolite.api.deps import Services
from domolite.api.middleware import ToeMiddleware
from domolite.audit.log import AuditLog
from domolite.auth.devtokens import AccessTokens
from domolite.auth.throttle import LoginGuard
from domolite.auth.tokens import TokenService
from domolite.bootstrap import open_server_catalog, signing_keys
from domolite.catalog.processes import ProcessCatalog
from domolite.catalog.product import ProductCatalog
from domolite.datasets import DataSets
from domolite.directory import Directory
from domolite.export.jobs import Exports
from domolite.ingest.executions import Ingest
from domolite.instance import build_instance
from domolite.limits import Limits
from domolite.liveness import IsGone, Liveness
from domolite.pdp.policies import Policies
from domolite.query.engine import Door
from domolite.scheduler import ConnectorRuns
from domolite.secretbox import open_box
from domolite.settings import Settings
from domolite.sharing import Sharing
from domolite.storage.lake import Lake
from domolite.streams import Streams
from domolite.writeback import UnloadRunner

log = logging.getLogger("domolite")


def build_services(settings: Settings) -> Services:
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    catalog = open_server_catalog(settings)
    audit = AuditLog(catalog.engine, settings.audit_retention_s)
    liveness = Liveness(
        ProcessCatalog(catalog.engine),
        heartbeat_s=settings.process_heartbeat_s,
        dead_after_s=settings.process_dead_after_s,
    )
    lake = Lake(
        catalog_url=settings.resolved_catalog_url,
        lake_dir=settings.lake_dir,
        extension_dir=data_dir / "extensions",
        threads=settings.duckdb_threads,
        memory_limit=settings.duckdb_memory_limit,
        unload_threads=settings.resolved_export_duckdb_threads,
        write_wait_s=settings.lake_write_wait_s,
        alone=lambda: liveness.survey().others_started() is None,
    )
    limits = Limits.of(settings)
    policies = Policies(catalog, audit)
    door = Door(
        lake,
        pdp_filter=policies.row_filter,  # PDP on every read path
        timeout_s=settings.query_timeout_s,
        max_rows=settings.query_max_rows,
        scratch_dir=settings.staging_dir / "exports",
        memory_limit=settings.duckdb_memory_limit,
        threads=settings.duckdb_threads,
        owner=liveness.id,
        slots=settings.query_slots,
    )
    datasets = DataSets(catalog, lake, limits, audit, door)
    ingest = Ingest(catalog, lake, settings.staging_dir, limits, process_id=liveness.id, audit=audit)
    datasets.on_executions_removed(ingest.forget_executions)
    tokens = TokenService(catalog, settings.token_lifetime_s, signing_keys(settings))
    exports = Exports(catalog, door, lake, settings, process_id=liveness.id, audit=audit)
    account_key = settings.account_key.get_secret_value() if settings.account_key else None
    accounts = Accounts(catalog, open_box(account_key, settings.account_key_file), audit)
    unload = UnloadRunner(catalog, tokens, accounts, exports)
    runs = ConnectorRuns(catalog, ProductCatalog(catalog.engine), ingest, unload, settings, process_id=liveness.id)
    return Services(
        settings=settings,
        limits=limits,
        catalog=catalog,
        lake=lake,
        door=door,
        ingest=ingest,
        tokens=tokens,
        datasets=datasets,
        streams=Streams(catalog, datasets),
        instance=build_instance(
            settings, catalog, lake, door, ingest, datasets, runs, unload, accounts, tokens, process_id=liveness.id
        ),
        directory=Directory(catalog, audit),
        sharing=Sharing(catalog, audit),
        policies=policies,
        access_tokens=AccessTokens(catalog, tokens, audit),
        exports=exports,
        runs=runs,
        accounts=accounts,
        liveness=liveness,
        audit=audit,
        guard=LoginGuard(
            audit,
            per_subject=settings.auth_failures_per_client,
            per_address=settings.auth_failures_per_address,
            window_s=settings.auth_failure_window_s,
        ),
    )


def remove_orphans(services: Services) -> None:
    """Parquet files no DuckLake listing knows (loads that failed or were interrupted) are removed at start:
    all of them when no other process uses the lake, else those older than the start of every other live
    process, less a minute for clocks apart (so no file of a load still running elsewhere goes)."""
    others = services.liveness.survey().others_started()
    cutoff = None if others is None else others - timedelta(minutes=1)
    removed = services.lake.remove_orphans(cutoff)
    if removed:
        log.info("removed %d Parquet file(s) of loads that did not finish", removed)


def create_app(settings: Settings) -> FastAPI:
    services = build_services(settings)

    def recover(is_gone: IsGone) -> None:
        services.ingest.recover(is_gone)
        services.exports.recover(is_gone)
        services.instance.versions.recover(is_gone)
        services.door.recover(is_gone)

    services.liveness.register()
    services.liveness.settle(recover)  # what server processes that are gone left running
    services.ingest.remove_ended_parts()
    remove_orphans(services)
    services.instance.uploads.settle_partition_deletions()
    services.datasets.reconcile_row_counts()
    services.accounts.check_key()
    services.runs.start()
    services.liveness.start(recover)

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
    return app
