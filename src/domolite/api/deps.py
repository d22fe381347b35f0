"""Request dependencies: the app's services and the calling principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from domolite.errors import Unauthorized
from domolite.models.records import Principal
from domolite.services import Services


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


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
