"""POST|GET /oauth/token: client credentials in HTTP Basic, grant_type and scope in the query or a form body.
Wrong credentials count toward the failed-login throttle of the client id and of the remote address."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, Request

from domolite.api.body import small_body
from domolite.api.deps import GuardDep, TokensDep, client_address
from domolite.api.openapi import body_form
from domolite.api.responses import JSON, NO_STORE
from domolite.api.routing import Router
from domolite.auth.tokens import Grant
from domolite.errors import BadRequest, Unauthorized

router = Router()


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """(client id, secret) from HTTP Basic, or None when there are none or they are malformed."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


_TOKEN_FORM = {"grant_type": {"type": "string", "enum": ["client_credentials"]}, "scope": {"type": "string"}}


async def _token_params(request: Request) -> dict[str, str]:
    """The query's parameters, and a form body's over them."""
    params = dict(request.query_params)
    if request.method == "POST" and "form-urlencoded" in request.headers.get("content-type", "").lower():
        params.update(parse_qsl((await small_body(request)).decode("utf-8", "replace")))
    return params


@router.get("/oauth/token", operation_id="token_get")
@router.post("/oauth/token", operation_id="token_post", openapi_extra=body_form(_TOKEN_FORM))
def token(
    request: Request, params: Annotated[dict[str, str], Depends(_token_params)], tokens: TokensDep, guard: GuardDep
) -> JSON:
    """An access token for an OAuth client: its id and secret in HTTP Basic, grant_type client_credentials
    and the scopes (data, user, account, audit, ...) in the query or a form body. Wrong credentials count toward
    the failed-login throttle."""
    if params.get("grant_type", "client_credentials") != "client_credentials":
        raise BadRequest(f"unsupported grant_type {params.get('grant_type')!r}; use client_credentials")
    credentials = _basic_credentials(request)

    def grant_token() -> Grant:
        if credentials is None:
            raise Unauthorized("Client credentials are required (HTTP Basic client_id:client_secret)")
        return tokens.grant(credentials[0], credentials[1], params.get("scope"))

    subject = credentials[0] if credentials else None
    grant = guard.attempt("oauth", subject, client_address(request), grant_token)
    return JSON(
        {
            "access_token": grant.access_token,
            "token_type": "bearer",
            "expires_in": grant.expires_in,
            "scope": " ".join(grant.scopes),
            "customer": "domolite",
            "env": "local",
            "userId": grant.user.id,
            "role": grant.user.role.value,
            "jti": grant.jti,
        },
        headers=NO_STORE,
    )
