"""/api/data/v1/accesstokens: developer tokens (list, create, revoke). The token is shown once, on create."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from domolite.api.body import parse_body
from domolite.api.deps import PrincipalDep, ServicesDep
from domolite.api.openapi import body_model
from domolite.api.public.access_schemas import AccessTokenIn, access_token_out
from domolite.api.responses import JSON
from domolite.api.routing import Router

router = Router()
BASE = "/api/data/v1/accesstokens"


@router.get(BASE)
def list_tokens(principal: PrincipalDep, services: ServicesDep) -> JSON:
    return JSON([access_token_out(t) for t in services.access_tokens.list(principal)])


@router.post(BASE, openapi_extra=body_model(AccessTokenIn))
async def create_token(request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    body = await parse_body(request, AccessTokenIn)
    row, token = await run_in_threadpool(services.access_tokens.create, principal, body.name, body.owner_id)
    return JSON({**access_token_out(row), "token": token})


@router.delete(BASE + "/{token_id}", status_code=204)
def revoke_token(token_id: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.access_tokens.revoke(principal, token_id)
    return Response(status_code=204)
