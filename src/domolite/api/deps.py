"""Request dependencies: the app's services and the calling principal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from domolite.auth.tokens import TokenService
from domolite.catalog import Catalog
from domolite.datasets import DataSets
from domolite.errors import Unauthorized
from domolite.export.jobs import Exports
from domolite.ingest.executions import Ingest
from domolite.models import Principal
from domolite.query.engine import Door
from domolite.settings import Settings
from domolite.storage.lake import Lake
from domolite.streams import Streams


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    lake: Lake
    door: Door
    ingest: Ingest
    tokens: TokenService
    datasets: DataSets
    streams: Streams
    exports: Exports


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_principal(request: Request) -> Principal:
    """Developer token anywhere; `Authorization: bearer <jwt>` (any case)."""
    services = get_services(request)
    dev = request.headers.get("x-domo-developer-token")
    if dev and dev.strip():
        return services.tokens.verify_dev_token(dev.strip())
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return services.tokens.verify_access_token(token.strip())
    raise Unauthorized("Full authentication is required to access this resource")


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
