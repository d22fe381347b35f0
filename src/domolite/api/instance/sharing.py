"""Sharing under /api/data/v3/datasources/{id}: the access list, share, and the three ways to revoke."""

from __future__ import annotations

from typing import Annotated

from pydantic import TypeAdapter, ValidationError

from domolite.api.body import JsonDep, body_of
from domolite.api.deps import PrincipalDep, SharingDep
from domolite.api.errors import validation_message
from domolite.api.openapi import body_model, body_schema
from domolite.api.public.access_schemas import GranteeIn, ShareIn
from domolite.api.public.schemas import IdPath
from domolite.api.responses import JSON
from domolite.api.routing import Router
from domolite.errors import BadRequest
from domolite.models.access import AccessLevel, GranteeType

router = Router()
BASE = "/api/data/v3/datasources/{dataset_id}"


@router.get(BASE + "/permissions")
def access_list(dataset_id: str, principal: PrincipalDep, sharing: SharingDep) -> JSON:
    """Who has access to the DataSet: its owner, and each user and group it is shared with, at which
    level; with the numbers of users and of groups."""
    entries = sharing.access_list(principal, dataset_id)
    listed = [
        {"type": e.grantee_type.value, "id": str(e.grantee_id), "accessLevel": e.level.value, "name": e.name}
        for e in entries
    ]
    return JSON(
        {
            "list": listed,
            "totalUserCount": sum(1 for e in entries if e.grantee_type is GranteeType.USER),
            "totalGroupCount": sum(1 for e in entries if e.grantee_type is GranteeType.GROUP),
        }
    )


@router.post(BASE + "/share", openapi_extra=body_model(ShareIn))
def share(
    dataset_id: str, principal: PrincipalDep, body: Annotated[ShareIn, body_of(ShareIn)], sharing: SharingDep
) -> JSON:
    """Share the DataSet with users and groups, each at an access level (READ, CAN_SHARE, CAN_EDIT,
    CO_OWNER). A caller may hand out no more than their own level."""
    grants = [
        (
            GranteeType.parse(p.type, f"permissions[{i}].type"),
            p.id,
            AccessLevel.parse(p.access_level, f"permissions[{i}].accessLevel"),
        )
        for i, p in enumerate(body.permissions)
    ]
    sharing.share(principal, dataset_id, grants)
    return JSON({})


@router.delete(BASE + "/permissions/{grantee_type}/{grantee_id}")
def revoke(
    dataset_id: str, grantee_type: str, grantee_id: IdPath, principal: PrincipalDep, sharing: SharingDep
) -> JSON:
    """Take a user's or a group's access to the DataSet away (grantee type USER or GROUP). The owner's
    access cannot be."""
    sharing.revoke(principal, dataset_id, [(GranteeType.parse(grantee_type), grantee_id)])
    return JSON({})


@router.delete(BASE + "/USERS/{user_id}")
def remove_user(dataset_id: str, user_id: IdPath, principal: PrincipalDep, sharing: SharingDep) -> JSON:
    """Take a user's access to the DataSet away."""
    sharing.revoke(principal, dataset_id, [(GranteeType.USER, user_id)])
    return JSON({})


_grantees = TypeAdapter(list[GranteeIn])


@router.delete(
    BASE + "/users",
    openapi_extra=body_schema(
        {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "integer"}, "type": {"type": "string", "enum": ["USER", "GROUP"]}},
            },
        },
        required=True,
    ),
)
def remove_users(dataset_id: str, principal: PrincipalDep, data: JsonDep, sharing: SharingDep) -> JSON:
    """Take the access of several users and groups (`[{id, type}]`) to the DataSet away at once."""
    if not isinstance(data, list) or not data:
        raise BadRequest("the body must be a non-empty array of {id, type}")
    try:
        items = _grantees.validate_python(data)
    except ValidationError as exc:
        raise BadRequest(validation_message(list(exc.errors()))) from None
    grantees = [(GranteeType.parse(g.type, f"[{i}].type"), g.id) for i, g in enumerate(items)]
    sharing.revoke(principal, dataset_id, grantees)
    return JSON({})
