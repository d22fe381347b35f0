"""POST|GET /oauth/token: client credentials in HTTP Basic, grant_type and scope in the query or a form body."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from domolite.api.body import small_body
from domolite.api.deps import ServicesDep
from domolite.api.openapi import body_form
from domolite.api.responses import JSON
from domolite.api.routing import Router
from domolite.errors import BadRequest, Unauthorized

router = Router()


def _basic_credentials(request: Request) -> tuple[str, str]:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        raise Unauthorized("Client credentials are required (HTTP Basic)")
    try:
        client_id, _, secret = base64.b64decode(value.strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("Malformed HTTP Basic credentials") from None
    return client_id, secret


_TOKEN_FORM = {"grant_type": {"type": "string", "enum": ["client_credentials"]}, "scope": {"type": "string"}}


@router.get("/oauth/token", operation_id="token_get")
@router.post("/oauth/token", operation_id="token_post", openapi_extra=body_form(_TOKEN_FORM))
async def token(request: Request, services: ServicesDep) -> JSON:
    params = dict(request.query_params)
    if request.method == "POST" and "form-urlencoded" in request.headers.get("content-type", ""):
        params.update(parse_qsl((await small_body(request)).decode("utf-8", "replace")))
    client_id, secret = _basic_credentials(request)
    if params.get("grant_type", "client_credentials") != "client_credentials":
        raise BadRequest(f"unsupported grant_type {params.get('grant_type')!r}; use client_credentials")
    grant = await run_in_threadpool(services.tokens.grant, client_id, secret, params.get("scope"))
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
        }
    )
