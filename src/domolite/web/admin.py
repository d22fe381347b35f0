"""Admin: users, groups and developer tokens (a new token is shown once, on the page that made it)."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from domolite.api.deps import AccessTokensDep, DirectoryDep
from domolite.api.public.access_schemas import access_token_out
from domolite.auth.devtokens import AccessTokens
from domolite.auth.directory import Directory
from domolite.errors import InvalidField
from domolite.models.records import Principal, Role
from domolite.web.render import page, redirect
from domolite.web.routing import web_router
from domolite.web.session import FormDep, UserDep, form_list, whole

router = web_router()
ROLES = [r.value for r in Role]


def _number(form: dict[str, str], name: str) -> int:
    value = whole(form.get(name, ""))
    if value is None:
        raise InvalidField(name, "choose one")
    return value


def _admin_page(
    request: Request, principal: Principal, directory: Directory, access_tokens: AccessTokens, new_token: str = ""
) -> Response:
    users = directory.list_users(principal, limit=500, offset=0) if principal.is_admin else []
    groups = directory.list_groups(principal, limit=500, offset=0)
    members = {g.id: directory.members(principal, g.id, limit=500, offset=0) for g in groups}
    tokens = [access_token_out(t) for t in access_tokens.list(principal)]
    return page(
        request,
        "admin.html",
        users=users,
        groups=groups,
        members=members,
        names={principal.user.id: principal.user.name, **{u.id: u.name for u, _created in users}},
        tokens=tokens,
        roles=ROLES,
        new_token=new_token,
        is_admin=principal.is_admin,
    )


@router.get("/admin")
def admin(request: Request, principal: UserDep, directory: DirectoryDep, access_tokens: AccessTokensDep) -> Response:
    return _admin_page(request, principal, directory, access_tokens)


@router.post("/admin/users")
def create_user(principal: UserDep, directory: DirectoryDep, form: FormDep) -> Response:
    user, _created = directory.create_user(
        principal,
        email=form.get("email", ""),
        name=form.get("name", ""),
        role=Role.parse(form.get("role", "Participant")),
        password=form.get("password") or None,
    )
    return redirect("/admin", notice=f"User {user.email} created.")


@router.post("/admin/users/delete")
def delete_user(principal: UserDep, directory: DirectoryDep, form: FormDep) -> Response:
    directory.delete_user(principal, _number(form, "user"))
    return redirect("/admin", notice="User deleted.")


@router.post("/admin/groups")
def create_group(request: Request, principal: UserDep, directory: DirectoryDep, form: FormDep) -> Response:
    group = directory.create_group(
        principal,
        name=form.get("name", ""),
        description=form.get("description", ""),
        active=True,
        member_ids=[n for u in form_list(request, "members") if (n := whole(u)) is not None],
    )
    return redirect("/admin", notice=f"Group {group.name} created.")


@router.post("/admin/groups/delete")
def delete_group(principal: UserDep, directory: DirectoryDep, form: FormDep) -> Response:
    directory.delete_group(principal, _number(form, "group"))
    return redirect("/admin", notice="Group deleted.")


@router.post("/admin/tokens")
def create_token(
    request: Request, principal: UserDep, access_tokens: AccessTokensDep, form: FormDep, directory: DirectoryDep
) -> Response:
    _row, token = access_tokens.create(principal, form.get("name", "").strip() or "developer token", None)
    # Shown once, in this answer (never in a redirect, a cookie or a log).
    return _admin_page(request, principal, directory, access_tokens, new_token=token)


@router.post("/admin/tokens/revoke")
def revoke_token(principal: UserDep, access_tokens: AccessTokensDep, form: FormDep) -> Response:
    access_tokens.revoke(principal, form.get("token", ""))
    return redirect("/admin", notice="Developer token revoked.")
