"""Connector accounts: /api/data/v1/accounts (the instance form) and /v1/accounts (the public form), one service."""

from __future__ import annotations

from typing import Annotated

from starlette.responses import Response

from domolite.api.body import body_of
from domolite.api.deps import AccountsDep, PrincipalDep
from domolite.api.instance.account_schemas import AccountIn, PublicAccountIn, account_out, public_account_out
from domolite.api.openapi import body_model
from domolite.api.public.datasets import page
from domolite.api.public.schemas import IdPath, PageQuery
from domolite.api.responses import JSON
from domolite.api.routing import Router

router = Router()
BASE = "/api/data/v1/accounts"
PUBLIC = "/v1/accounts"


# -- instance form ------------------------------------------------------------------------------------------
@router.post(BASE, openapi_extra=body_model(AccountIn))
def create_account(
    principal: PrincipalDep, body: Annotated[AccountIn, body_of(AccountIn)], accounts: AccountsDep
) -> JSON:
    """Create a connector account: its names, data provider type and configuration. Secret keys are
    stored encrypted and never returned."""
    spec = body.to_spec()
    return JSON(account_out(accounts.create(principal, spec)))


@router.get(BASE)
def list_accounts(
    principal: PrincipalDep, accounts: AccountsDep, limit: PageQuery = None, offset: PageQuery = None
) -> JSON:
    """The caller's connector accounts (an Admin's: every account), a page at a time (limit at most 500,
    offset), without their secrets."""
    size, start = page(limit, offset, default=500, maximum=500)
    return JSON([account_out(a) for a in accounts.list(principal, limit=size, offset=start)])


@router.get(BASE + "/{account_id}")
def get_account(account_id: IdPath, principal: PrincipalDep, accounts: AccountsDep) -> JSON:
    """One connector account, without its secrets."""
    return JSON(account_out(accounts.get(principal, account_id)))


@router.put(BASE + "/{account_id}", openapi_extra=body_model(AccountIn))
@router.patch(BASE + "/{account_id}", openapi_extra=body_model(AccountIn))
def update_account(
    account_id: IdPath, principal: PrincipalDep, body: Annotated[AccountIn, body_of(AccountIn)], accounts: AccountsDep
) -> JSON:
    """Change a connector account's names, validity or configuration keys (PUT and PATCH alike); a key
    left out stays, an optional key sent as null is removed."""
    spec = body.to_spec()
    return JSON(account_out(accounts.update(principal, account_id, spec)))


@router.delete(BASE + "/{account_id}", status_code=204)
@router.delete(PUBLIC + "/{account_id}", status_code=204)
def delete_account(account_id: IdPath, principal: PrincipalDep, accounts: AccountsDep) -> Response:
    """Delete a connector account."""
    accounts.delete(principal, account_id)
    return Response(status_code=204)


# -- public form (pydomo's accounts_*) ----------------------------------------------------------------------
@router.post(PUBLIC, openapi_extra=body_model(PublicAccountIn))
def create_public_account(
    principal: PrincipalDep, body: Annotated[PublicAccountIn, body_of(PublicAccountIn)], accounts: AccountsDep
) -> JSON:
    """Create a connector account in the public form: its name, and its data provider type and
    configuration as `type.id` and `type.properties`. Secrets are never returned."""
    spec = body.to_spec()
    return JSON(public_account_out(accounts.create(principal, spec)))


@router.get(PUBLIC)
def list_public_accounts(
    principal: PrincipalDep, accounts: AccountsDep, limit: PageQuery = None, offset: PageQuery = None
) -> JSON:
    """The caller's connector accounts (an Admin's: every account) in the public form, a page at a time
    (limit, offset)."""
    size, start = page(limit, offset)
    return JSON([public_account_out(a) for a in accounts.list(principal, limit=size, offset=start)])


@router.get(PUBLIC + "/{account_id}")
def get_public_account(account_id: IdPath, principal: PrincipalDep, accounts: AccountsDep) -> JSON:
    """One connector account in the public form (its type without properties)."""
    return JSON(public_account_out(accounts.get(principal, account_id)))


@router.patch(PUBLIC + "/{account_id}", status_code=202, openapi_extra=body_model(PublicAccountIn))
def update_public_account(
    account_id: IdPath,
    principal: PrincipalDep,
    body: Annotated[PublicAccountIn, body_of(PublicAccountIn)],
    accounts: AccountsDep,
) -> JSON:
    """Change a connector account's name, validity or configuration (`type.properties`); answers 202."""
    spec = body.to_spec()
    updated = accounts.update(principal, account_id, spec)
    return JSON(public_account_out(updated), status_code=202)  # pydomo's accounts_update expects 202
