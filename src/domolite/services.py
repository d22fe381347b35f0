"""The services behind the instance product API (/api/...), built once from the foundation's services."""

from __future__ import annotations

from dataclasses import dataclass

from domolite.auth.sessions import SessionService
from domolite.auth.tokens import TokenService
from domolite.catalog import Catalog
from domolite.catalog.product import ProductCatalog
from domolite.connectors.accounts import Accounts
from domolite.connectors.scheduler import ConnectorRuns
from domolite.connectors.streams import Connectors
from domolite.connectors.writeback import UnloadRunner
from domolite.datasets.datacenter import DataCenter
from domolite.datasets.service import DataSets
from domolite.datasets.versions import Versions
from domolite.ingest.executions import Ingest
from domolite.ingest.uploads import Uploads
from domolite.query.door import Door
from domolite.query.service import Queries
from domolite.settings import Settings
from domolite.storage.lake import Lake


@dataclass
class Instance:
    product: ProductCatalog
    sessions: SessionService
    uploads: Uploads
    versions: Versions
    queries: Queries
    datacenter: DataCenter
    connectors: Connectors


def build_instance(
    settings: Settings,
    catalog: Catalog,
    lake: Lake,
    door: Door,
    ingest: Ingest,
    datasets: DataSets,
    runs: ConnectorRuns,
    unload: UnloadRunner,
    accounts: Accounts,
    tokens: TokenService,
    *,
    process_id: str,
) -> Instance:
    product = ProductCatalog(catalog.engine)
    versions = Versions(lake, product, datasets, process_id=process_id)
    return Instance(
        product=product,
        sessions=SessionService(catalog, tokens, settings.session_lifetime_s),
        uploads=Uploads(catalog, product, lake, ingest, datasets, settings.partition_limit),
        versions=versions,
        queries=Queries(door, datasets, versions),
        datacenter=DataCenter(catalog, product, lake, datasets),
        connectors=Connectors(catalog, product, datasets, ingest, runs, unload, accounts),
    )
