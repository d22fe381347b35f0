"""/v1/users and /v1/groups (with and without the trailing slash), and group members as bare user ids."""

from __future__ import annotations

from typing import Annotated

from starlette.responses import Response

from domolite.api.body import body_of
from domolite.api.deps import DirectoryDep, PrincipalDep
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
def create_user(principal: PrincipalDep, body: Annotated[UserIn, body_of(UserIn)], directory: DirectoryDep) -> JSON:
    """Create a user with a name, an e-mail address and a role (Admin, Privileged or Participant; by
    default Participant). An Admin's right."""
    user, created = directory.create_user(principal, email=body.email, name=body.name, role=Role.parse(body.role))
    return JSON(user_out(user, created))


@router.get("/v1/users")
def list_users(
    principal: PrincipalDep, directory: DirectoryDep, limit: PageQuery = None, offset: PageQuery = None
) -> JSON:
    """The instance's users, a page at a time (limit at most 500, offset)."""
    size, start = _page(limit, offset)
    return JSON([user_out(u, c) for u, c in directory.list_users(principal, limit=size, offset=start)])


@router.get("/v1/users/{user_id}")
def get_user(user_id: IdPath, principal: PrincipalDep, directory: DirectoryDep) -> JSON:
    """One user: name, e-mail address, role and times."""
    return JSON(user_out(*directory.get_user(principal, user_id)))


@router.put("/v1/users/{user_id}", openapi_extra=body_model(UserUpdateIn))
def update_user(
    user_id: IdPath,
    principal: PrincipalDep,
    body: Annotated[UserUpdateIn, body_of(UserUpdateIn)],
    directory: DirectoryDep,
) -> JSON:
    """Change a user's name, e-mail address or role; what is left out stays. An Admin's right."""
    user, created = directory.update_user(
        principal,
        user_id,
        email=body.email,
        name=body.name,
        role=Role.parse(body.role) if body.role is not None else None,
    )
    return JSON(user_out(user, created))


@router.delete("/v1/users/{user_id}", status_code=204)
def delete_user(user_id: IdPath, principal: PrincipalDep, directory: DirectoryDep) -> Response:
    """Delete a user (not oneself), with their OAuth clients, developer tokens, accounts, group
    memberships and shares. An Admin's right."""
    directory.delete_user(principal, user_id)
    return Response(status_code=204)


# -- groups -------------------------------------------------------------------------------------------------
@router.post("/v1/groups", openapi_extra=body_model(GroupIn))
def create_group(principal: PrincipalDep, body: Annotated[GroupIn, body_of(GroupIn)], directory: DirectoryDep) -> JSON:
    """Create a group with a name, a description, whether it is active and its first members (`users`).
    An Admin's or a Privileged user's right, as changing groups and their members is."""
    group = directory.create_group(
        principal, name=body.name, description=body.description, active=body.active, member_ids=body.users
    )
    return JSON(group_out(group))


@router.get("/v1/groups")
def list_groups(
    principal: PrincipalDep, directory: DirectoryDep, limit: PageQuery = None, offset: PageQuery = None
) -> JSON:
    """The instance's groups, a page at a time (limit at most 500, offset), with their member counts."""
    size, start = _page(limit, offset)
    return JSON([group_out(g) for g in directory.list_groups(principal, limit=size, offset=start)])


@router.get("/v1/groups/{group_id}")
def get_group(group_id: IdPath, principal: PrincipalDep, directory: DirectoryDep) -> JSON:
    """One group: name, description, whether it is active, its creator and member count."""
    return JSON(group_out(directory.get_group(principal, group_id)))


@router.put("/v1/groups/{group_id}", openapi_extra=body_model(GroupUpdateIn))
def update_group(
    group_id: IdPath,
    principal: PrincipalDep,
    body: Annotated[GroupUpdateIn, body_of(GroupUpdateIn)],
    directory: DirectoryDep,
) -> JSON:
    """Change a group's name, description or whether it is active; what is left out stays."""
    group = directory.update_group(
        principal, group_id, name=body.name, description=body.description, active=body.active
    )
    return JSON(group_out(group))


@router.delete("/v1/groups/{group_id}", status_code=204)
def delete_group(group_id: IdPath, principal: PrincipalDep, directory: DirectoryDep) -> Response:
    """Delete a group: its shares go (the DataSets shared with it are no longer shared with its members)
    and PDP policies no longer name it."""
    directory.delete_group(principal, group_id)
    return Response(status_code=204)


@router.get("/v1/groups/{group_id}/users")
def list_members(
    group_id: IdPath,
    principal: PrincipalDep,
    directory: DirectoryDep,
    limit: PageQuery = None,
    offset: PageQuery = None,
) -> JSON:
    """The ids of the group's members, a page at a time (limit at most 500, offset)."""
    size, start = _page(limit, offset)
    return JSON(directory.members(principal, group_id, limit=size, offset=start))


@router.put("/v1/groups/{group_id}/users/{user_id}", status_code=204)
def add_member(group_id: IdPath, user_id: IdPath, principal: PrincipalDep, directory: DirectoryDep) -> Response:
    """Make the user a member of the group (already one: nothing changes)."""
    directory.add_member(principal, group_id, user_id)
    return Response(status_code=204)


@router.delete("/v1/groups/{group_id}/users/{user_id}", status_code=204)
def remove_member(group_id: IdPath, user_id: IdPath, principal: PrincipalDep, directory: DirectoryDep) -> Response:
    """Take the user out of the group."""
    directory.remove_member(principal, group_id, user_id)
    return Response(status_code=204)
