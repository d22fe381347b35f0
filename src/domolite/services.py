"""The service container: every service of a server process, built once from the settings (`build_services`).
The API and the Data Center reach each service through it (one typed dependency per service, api/deps.py)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from domolite.access.policies import Policies
from domolite.access.sharing import Sharing
from domolite.audit.log import AuditLog
from domolite.auth.bootstrap import check_shared_keys, open_server_catalog, signing_keys
from domolite.auth.devtokens import AccessTokens
from domolite.auth.directory import Directory
from domolite.auth.secretbox import open_box
from domolite.auth.sessions import SessionService
from domolite.auth.throttle import LoginGuard
from domolite.auth.tokens import TokenService
from domolite.catalog import Catalog
from domolite.catalog.product import ProductStore
from domolite.connectors.accounts import Accounts
from domolite.connectors.scheduler import ConnectorRuns
from domolite.connectors.streams import Connectors
from domolite.connectors.writeback import UnloadRunner
from domolite.datasets.service import DataSets
from domolite.datasets.versions import Versions
from domolite.export.jobs import Exports
from domolite.ingest.executions import Ingest
from domolite.ingest.streams import Streams
from domolite.ingest.uploads import Uploads
from domolite.models.limits import Limits
from domolite.query.door import Door
from domolite.query.service import Queries
from domolite.server.liveness import Liveness
from domolite.settings import Settings
from domolite.storage.lake import Lake
from domolite.storage.readiness import Readiness
from domolite.storage.s3 import LakeObjects, lake_bucket
from domolite.storage.staging import BucketStaging

log = logging.getLogger("domolite")


@dataclass
class Services:
    settings: Settings
    limits: Limits
    catalog: Catalog
    lake: Lake
    door: Door
    ingest: Ingest
    tokens: TokenService
    datasets: DataSets
    streams: Streams
    product: ProductStore
    sessions: SessionService
    uploads: Uploads
    versions: Versions
    queries: Queries
    connectors: Connectors
    directory: Directory
    sharing: Sharing
    policies: Policies
    access_tokens: AccessTokens
    exports: Exports
    runs: ConnectorRuns
    accounts: Accounts
    liveness: Liveness
    audit: AuditLog
    guard: LoginGuard
    readiness: Readiness


def build_services(settings: Settings) -> Services:
    check_shared_keys(settings)
    bucket = lake_bucket(settings)
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    catalog = open_server_catalog(settings)
    audit = AuditLog(catalog.audit, settings.audit_retention_s)
    liveness = Liveness(
        catalog.processes,
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
        bucket=bucket,
    )
    limits = Limits.of(settings)
    policies = Policies(catalog, audit)
    door = Door(
        lake,
        policies=policies,  # PDP on every read path
        timeout_s=settings.query_timeout_s,
        max_rows=settings.query_max_rows,
        scratch_dir=settings.staging_dir / "exports",
        memory_limit=settings.duckdb_memory_limit,
        threads=settings.duckdb_threads,
        owner=liveness.id,
        slots=settings.query_slots,
        copy_budget_bytes=settings.query_copy_mb * 2**20,
    )
    product = catalog.product
    datasets = DataSets(catalog, lake, limits, audit, door, product)
    staging = BucketStaging(LakeObjects(bucket)) if bucket else None
    ingest = Ingest(catalog, lake, settings.staging_dir, limits, process_id=liveness.id, audit=audit, staging=staging)
    datasets.on_executions_removed(ingest.forget_executions)
    tokens = TokenService(catalog, settings.token_lifetime_s, signing_keys(settings))
    exports = Exports(catalog, door, settings, process_id=liveness.id, audit=audit)
    account_key = settings.account_key.get_secret_value() if settings.account_key else None
    accounts = Accounts(catalog, open_box(account_key, settings.account_key_file), audit)
    unload = UnloadRunner(catalog, tokens, accounts, exports)
    runs = ConnectorRuns(catalog, product, ingest, unload, settings, process_id=liveness.id)
    versions = Versions(lake, product, datasets, process_id=liveness.id)
    return Services(
        settings=settings,
        limits=limits,
        catalog=catalog,
        lake=lake,
        door=door,
        ingest=ingest,
        tokens=tokens,
        datasets=datasets,
        streams=Streams(catalog, datasets, ingest),
        product=product,
        sessions=SessionService(catalog, tokens, settings.session_lifetime_s),
        uploads=Uploads(catalog, product, lake, ingest, datasets, settings.partition_limit),
        versions=versions,
        queries=Queries(door, datasets, versions),
        connectors=Connectors(catalog, product, datasets, ingest, runs, unload, accounts),
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
        readiness=Readiness(catalog.ping, lake),
    )


def remove_orphans(services: Services) -> None:
    """Lake tables no DataSet has (deletes whose removal of the table failed) and Parquet files no DuckLake
    listing knows (loads that failed or were interrupted) are removed at start:
    all of them when no other process uses the lake, else those older than the start of every other live
    process, less a minute for clocks apart (so no file of a load still running elsewhere goes)."""
    others = services.liveness.survey().others_started()
    cutoff = None if others is None else others - timedelta(minutes=1)
    services.datasets.remove_lost_tables(cutoff)  # before the files: their files then go with them
    removed = services.lake.remove_orphans(cutoff)
    if removed:
        log.info("removed %d Parquet file(s) of loads that did not finish", removed)
