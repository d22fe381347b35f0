"""/v1/users and /v1/groups (with and without the trailing slash), and group members as bare user ids."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from domolite.api.body import parse_body
from domolite.api.deps import PrincipalDep, ServicesDep
from domolite.api.openapi import body_model
from domolite.api.public.access_schemas import GroupIn, GroupUpdateIn, UserIn, UserUpdateIn, group_out, user_out
from domolite.api.public.datasets import page
from domolite.api.public.schemas import IdPath, PageQuery
from domolite.api.responses import JSON
from domolite.api.routing import Router
from domolite.models.records import Role

router = Router()


def _page(limit: int | None, offset: int | None) -> tuple[int, int]:
    return page(limit, offset, default=50, maximum=500)


# -- users --------------------------------------------------------------------------------------------------
@router.post("/v1/users", openapi_extra=body_model(UserIn))
async def create_user(request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    body = await parse_body(request, UserIn)
    user, created = await run_in_threadpool(
        lambda: services.directory.create_user(principal, email=body.email, name=body.name, role=Role.parse(body.role))
    )
    return JSON(user_out(user, created))


@router.get("/v1/users")
def list_users(
    principal: PrincipalDep, services: ServicesDep, limit: PageQuery = None, offset: PageQuery = None
) -> JSON:
    size, start = _page(limit, offset)
    return JSON([user_out(u, c) for u, c in services.directory.list_users(principal, limit=size, offset=start)])


@router.get("/v1/users/{user_id}")
def get_user(user_id: IdPath, principal: PrincipalDep, services: ServicesDep) -> JSON:
    return JSON(user_out(*services.directory.get_user(principal, user_id)))


@router.put("/v1/users/{user_id}", openapi_extra=body_model(UserUpdateIn))
async def update_user(user_id: IdPath, request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    body = await parse_body(request, UserUpdateIn)
    user, created = await run_in_threadpool(
        lambda: services.directory.update_user(
            principal,
            user_id,
            email=body.email,
            name=body.name,
            role=Role.parse(body.role) if body.role is not None else None,
        )
    )
    return JSON(user_out(user, created))


@router.delete("/v1/users/{user_id}", status_code=204)
def delete_user(user_id: IdPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.directory.delete_user(principal, user_id)
    return Response(status_code=204)


# -- groups -------------------------------------------------------------------------------------------------
@router.post("/v1/groups", openapi_extra=body_model(GroupIn))
async def create_group(request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    body = await parse_body(request, GroupIn)
    group = await run_in_threadpool(
        lambda: services.directory.create_group(
            principal, name=body.name, description=body.description, active=body.active, member_ids=body.users
        )
    )
    return JSON(group_out(group))


@router.get("/v1/groups")
def list_groups(
    principal: PrincipalDep, services: ServicesDep, limit: PageQuery = None, offset: PageQuery = None
) -> JSON:
    size, start = _page(limit, offset)
    return JSON([group_out(g) for g in services.directory.list_groups(principal, limit=size, offset=start)])


@router.get("/v1/groups/{group_id}")
def get_group(group_id: IdPath, principal: PrincipalDep, services: ServicesDep) -> JSON:
    return JSON(group_out(services.directory.get_group(principal, group_id)))


@router.put("/v1/groups/{group_id}", openapi_extra=body_model(GroupUpdateIn))
async def update_group(group_id: IdPath, request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    body = await parse_body(request, GroupUpdateIn)
    group = await run_in_threadpool(
        lambda: services.directory.update_group(
            principal, group_id, name=body.name, description=body.description, active=body.active
        )
    )
    return JSON(group_out(group))


@router.delete("/v1/groups/{group_id}", status_code=204)
def delete_group(group_id: IdPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.directory.delete_group(principal, group_id)
    return Response(status_code=204)


@router.get("/v1/groups/{group_id}/users")
def list_members(
    group_id: IdPath,
    principal: PrincipalDep,
    services: ServicesDep,
    limit: PageQuery = None,
    offset: PageQuery = None,
) -> JSON:
    size, start = _page(limit, offset)
    return JSON(services.directory.members(principal, group_id, limit=size, offset=start))


@router.put("/v1/groups/{group_id}/users/{user_id}", status_code=204)
def add_member(group_id: IdPath, user_id: IdPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.directory.add_member(principal, group_id, user_id)
    return Response(status_code=204)


@router.delete("/v1/groups/{group_id}/users/{user_id}", status_code=204)
def remove_member(group_id: IdPath, user_id: IdPath, principal: PrincipalDep, services: ServicesDep) -> Response:
    services.directory.remove_member(principal, group_id, user_id)
    return Response(status_code=204)
