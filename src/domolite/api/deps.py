"""Request dependencies: the app's services and the calling principal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from domolite.accounts import Accounts
from domolite.auth.devtokens import AccessTokens
from domolite.auth.tokens import TokenService
from domolite.catalog import Catalog
from domolite.datasets import DataSets
from domolite.directory import Directory
from domolite.errors import Unauthorized
from domolite.export.jobs import Exports
from domolite.ingest.executions import Ingest
from domolite.instance import Instance
from domolite.limits import Limits
from domolite.liveness import Liveness
from domolite.models import Principal
from domolite.pdp.policies import Policies
from domolite.query.engine import Door
from domolite.scheduler import ConnectorRuns
from domolite.settings import Settings
from domolite.sharing import Sharing
from domolite.storage.lake import Lake
from domolite.streams import Streams


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
    instance: Instance
    directory: Directory
    sharing: Sharing
    policies: Policies
    access_tokens: AccessTokens
    exports: Exports
    runs: ConnectorRuns
    accounts: Accounts
    liveness: Liveness


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def get_principal(request: Request) -> Principal:
    """Developer token anywhere; a session token in `x-domo-authentication`; `Authorization: bearer <jwt>`
    (header names in any case)."""
    services = get_services(request)
    dev = request.headers.get("x-domo-developer-token")
    if dev and dev.strip():
        return services.tokens.verify_dev_token(dev.strip())
    session = request.headers.get("x-domo-authentication")
    if session and session.strip():
        return services.instance.sessions.verify(session.strip())
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return services.tokens.verify_access_token(token.strip())
    raise Unauthorized("Full authentication is required to access this resource")


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
