"""/api/data/v1/accesstokens: developer tokens (list, create, revoke). The token is shown once, on create.

A developer token carries every scope, so these calls take a credential with every scope (a developer token, a
session, or an OAuth token granted all of them); one limited to some gets a 403."""

from __future__ import annotations

from typing import Annotated

from starlette.responses import Response

from domolite.api.body import body_of
from domolite.api.deps import AccessTokensDep, PrincipalDep
from domolite.api.openapi import body_model
from domolite.api.public.access_schemas import AccessTokenIn, access_token_out
from domolite.api.responses import JSON, NO_STORE
from domolite.api.routing import Router

router = Router()
BASE = "/api/data/v1/accesstokens"


@router.get(BASE)
def list_tokens(principal: PrincipalDep, access_tokens: AccessTokensDep) -> JSON:
    """The developer tokens (never the tokens themselves): the caller's own, or every user's for an Admin. Takes a
    credential with every scope."""
    return JSON([access_token_out(t) for t in access_tokens.list(principal)])


@router.post(BASE, openapi_extra=body_model(AccessTokenIn))
def create_token(
    principal: PrincipalDep, body: Annotated[AccessTokenIn, body_of(AccessTokenIn)], access_tokens: AccessTokensDep
) -> JSON:
    """Create a developer token for the caller (or, for an Admin, for `ownerId`); the token is in this
    answer only. It is sent as X-DOMO-Developer-Token. Takes a credential with every scope: an OAuth token limited
    to some scopes gets a 403, as it could otherwise mint a token that carries them all."""
    row, token = access_tokens.create(principal, body.name, body.owner_id)
    return JSON({**access_token_out(row), "token": token}, headers=NO_STORE)


@router.delete(BASE + "/{token_id}", status_code=204)
def revoke_token(token_id: str, principal: PrincipalDep, access_tokens: AccessTokensDep) -> Response:
    """Revoke a developer token: it authenticates no more."""
    access_tokens.revoke(principal, token_id)
    return Response(status_code=204)
