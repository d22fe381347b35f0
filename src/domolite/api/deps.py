"""Request dependencies: one typed dependency per service, and the calling principal.

A handler names the services it calls (`datasets: DataSetsDep`), never the container: no handler can reach the
catalog or the lake (tests/unit/test_layout.py checks that)."""

from __future__ import annotations

from typing import Annotated, Protocol

from fastapi import Depends, Request

from domolite.access.policies import Policies
from domolite.access.sharing import Sharing
from domolite.audit.log import AuditLog
from domolite.auth.devtokens import AccessTokens
from domolite.auth.directory import Directory
from domolite.auth.sessions import SessionService
from domolite.auth.throttle import LoginGuard
from domolite.auth.tokens import TokenService
from domolite.connectors.accounts import Accounts
from domolite.connectors.streams import Connectors
from domolite.datasets.service import DataSets
from domolite.datasets.versions import Versions
from domolite.errors import Unauthorized
from domolite.export.jobs import Exports
from domolite.ingest.executions import Ingest
from domolite.ingest.streams import Streams
from domolite.ingest.uploads import Uploads
from domolite.models.limits import Limits
from domolite.models.records import Principal
from domolite.query.service import Queries
from domolite.services import Services
from domolite.settings import Settings


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def client_address(request: Request) -> str | None:
    """The remote address (the proxy's forwarded one when the peer is a trusted proxy, see docs/configuration.md)."""
    return request.client.host if request.client else None


def get_principal(request: Request) -> Principal:
    """The caller (see `_principal`), whose user id the access log line of the request names."""
    principal = _principal(request)
    request.state.user_id = principal.user.id
    return principal


def _principal(request: Request) -> Principal:
    """Developer token anywhere; a session token in `x-domo-authentication`; `Authorization: bearer <jwt>`
    (header names in any case). Each is checked under the failed-login throttle; all three build the same
    principal for the same user."""
    services = get_services(request)
    guard, address = services.guard, client_address(request)
    dev = (request.headers.get("x-domo-developer-token") or "").strip()
    if dev:
        token_id = services.tokens.dev_token_id(dev) or None
        return guard.attempt("developer token", token_id, address, lambda: services.tokens.verify_dev_token(dev))
    session = (request.headers.get("x-domo-authentication") or "").strip()
    if session:
        return guard.attempt("session", None, address, lambda: services.sessions.verify(session))
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return guard.attempt("bearer token", None, address, lambda: services.tokens.verify_access_token(token.strip()))
    raise Unauthorized("Full authentication is required to access this resource")


PrincipalDep = Annotated[Principal, Depends(get_principal)]


class Caller:
    """The caller of a request whose work runs in one hand-off to a worker thread: `principal()` authenticates
    it there (see get_principal), first, so a route taking this instead of PrincipalDep still answers 401
    before anything else, and saves the hand-off FastAPI makes for a plain dependency."""

    __slots__ = ("_request",)

    def __init__(self, request: Request) -> None:
        self._request = request

    def principal(self) -> Principal:
        return get_principal(self._request)


async def _caller(request: Request) -> Caller:
    return Caller(request)


CallerDep = Annotated[Caller, Depends(_caller)]


# -- one dependency per service (async: a lookup, no worker thread) ----------------------------------------


async def _access_tokens(request: Request) -> AccessTokens:
    return get_services(request).access_tokens


async def _accounts(request: Request) -> Accounts:
    return get_services(request).accounts


async def _audit(request: Request) -> AuditLog:
    return get_services(request).audit


async def _connectors(request: Request) -> Connectors:
    return get_services(request).connectors


async def _datasets(request: Request) -> DataSets:
    return get_services(request).datasets


async def _directory(request: Request) -> Directory:
    return get_services(request).directory


async def _exports(request: Request) -> Exports:
    return get_services(request).exports


async def _guard(request: Request) -> LoginGuard:
    return get_services(request).guard


async def _ingest(request: Request) -> Ingest:
    return get_services(request).ingest


async def _limits(request: Request) -> Limits:
    return get_services(request).limits


async def _policies(request: Request) -> Policies:
    return get_services(request).policies


async def _queries(request: Request) -> Queries:
    return get_services(request).queries


class Readiness(Protocol):
    """What /ready asks (storage/readiness.py, which the API may not import): each of the catalog and the
    lake, "ok" or why not."""

    def check(self) -> dict[str, str]: ...


async def _readiness(request: Request) -> Readiness:
    return get_services(request).readiness


async def _sessions(request: Request) -> SessionService:
    return get_services(request).sessions


async def _settings(request: Request) -> Settings:
    return get_services(request).settings


async def _sharing(request: Request) -> Sharing:
    return get_services(request).sharing


async def _streams(request: Request) -> Streams:
    return get_services(request).streams


async def _tokens(request: Request) -> TokenService:
    return get_services(request).tokens


async def _uploads(request: Request) -> Uploads:
    return get_services(request).uploads


async def _versions(request: Request) -> Versions:
    return get_services(request).versions


AccessTokensDep = Annotated[AccessTokens, Depends(_access_tokens)]
AccountsDep = Annotated[Accounts, Depends(_accounts)]
AuditDep = Annotated[AuditLog, Depends(_audit)]
ConnectorsDep = Annotated[Connectors, Depends(_connectors)]
DataSetsDep = Annotated[DataSets, Depends(_datasets)]
DirectoryDep = Annotated[Directory, Depends(_directory)]
ExportsDep = Annotated[Exports, Depends(_exports)]
GuardDep = Annotated[LoginGuard, Depends(_guard)]
IngestDep = Annotated[Ingest, Depends(_ingest)]
LimitsDep = Annotated[Limits, Depends(_limits)]
PoliciesDep = Annotated[Policies, Depends(_policies)]
QueriesDep = Annotated[Queries, Depends(_queries)]
ReadinessDep = Annotated[Readiness, Depends(_readiness)]
SessionsDep = Annotated[SessionService, Depends(_sessions)]
SettingsDep = Annotated[Settings, Depends(_settings)]
SharingDep = Annotated[Sharing, Depends(_sharing)]
StreamsDep = Annotated[Streams, Depends(_streams)]
TokensDep = Annotated[TokenService, Depends(_tokens)]
UploadsDep = Annotated[Uploads, Depends(_uploads)]
VersionsDep = Annotated[Versions, Depends(_versions)]
