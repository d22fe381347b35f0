"""Who may do what to a DataSet. Pure functions over the principal and the DataSet; raise Forbidden.

The principal carries its groups and the DataSets shared with it (read once per request when the credential is
checked), so every check here is a lookup. The rules, as data, are `access.LEVEL_CAPABILITIES`:

* the owner has OWNER; a share gives READ, CAN_SHARE, CAN_EDIT or CO_OWNER to a user or a group;
* the Admin role has every capability on every DataSet (as in Domo, where Admins can manage all DataSets);
* a credential must also carry the `data` scope for any DataSet call.
"""

from __future__ import annotations

from domolite.errors import Forbidden, NotFound
from domolite.models.access import AccessLevel, Capability
from domolite.models.records import DataSet, Principal, Role

DATA_SCOPE = "data"
USER_SCOPE = "user"


def require_scope(principal: Principal, scope: str) -> None:
    if scope not in principal.scopes:
        raise Forbidden(f"this token lacks the {scope!r} scope")


def access_level(principal: Principal, dataset: DataSet) -> AccessLevel | None:
    """The caller's own level on the DataSet (owner, or the best of its user and group shares), or None."""
    if principal.user.id == dataset.owner_id:
        return AccessLevel.OWNER
    return principal.grants.get(dataset.id)


def can(principal: Principal, dataset: DataSet, capability: Capability) -> bool:
    if DATA_SCOPE not in principal.scopes:
        return False
    if principal.is_admin:
        return True
    level = access_level(principal, dataset)
    return level is not None and capability in level.capabilities


def _require(principal: Principal, dataset: DataSet, capability: Capability, what: str) -> None:
    require_scope(principal, DATA_SCOPE)
    if can(principal, dataset, capability):
        return
    if not can(principal, dataset, Capability.READ):
        # Domo answers 403 for a DataSet one cannot see; the id is not secret, the content is.
        raise Forbidden(f"you do not have access to DataSet {dataset.id}")
    raise Forbidden(f"{what} DataSet {dataset.id} needs {_needed(capability)} access")


def _needed(capability: Capability) -> str:
    return {
        Capability.READ: "READ",
        Capability.SHARE: "CAN_SHARE",
        Capability.EDIT: "CAN_EDIT",
        Capability.MANAGE: "CO_OWNER (or OWNER, or the Admin role)",
    }[capability]


def require_read(principal: Principal, dataset: DataSet) -> None:
    _require(principal, dataset, Capability.READ, "reading")


def require_edit(principal: Principal, dataset: DataSet) -> None:
    """Import, upload, commit, schema and properties."""
    _require(principal, dataset, Capability.EDIT, "changing")


def require_share(principal: Principal, dataset: DataSet) -> None:
    _require(principal, dataset, Capability.SHARE, "sharing")


def require_manage(principal: Principal, dataset: DataSet) -> None:
    """PDP policies and the PDP switch, ownership."""
    _require(principal, dataset, Capability.MANAGE, "managing")


def require_delete(principal: Principal, dataset: DataSet) -> None:
    _require(principal, dataset, Capability.MANAGE, "deleting")


require_owner_or_admin = require_delete


def require_create(principal: Principal) -> None:
    """Creating DataSets (and streams): Admin and Privileged. Participants use what is shared with them."""
    require_scope(principal, DATA_SCOPE)
    if principal.user.role is Role.PARTICIPANT:
        raise Forbidden("the Participant role cannot create DataSets")


def bypasses_pdp(principal: Principal, dataset: DataSet) -> bool:
    """The owner and Admins see every row, whatever the policies (as Domo's owning API client does)."""
    return principal.is_admin or principal.user.id == dataset.owner_id


# -- users and groups ---------------------------------------------------------------------------------------
def require_directory_read(principal: Principal) -> None:
    require_scope(principal, USER_SCOPE)


def require_user_admin(principal: Principal) -> None:
    require_scope(principal, USER_SCOPE)
    if not principal.is_admin:
        raise Forbidden("only an Admin may create, change or delete users")


def require_group_admin(principal: Principal) -> None:
    require_scope(principal, USER_SCOPE)
    if principal.user.role is Role.PARTICIPANT:
        raise Forbidden("only an Admin or a Privileged user may manage groups")


def require_every_scope(principal: Principal, scopes: frozenset[str], why: str) -> None:
    """A call that hands out (or manages) what carries every scope needs a credential with every scope: a
    session, a developer token, or an OAuth token granted them all."""
    missing = sorted(scopes - principal.scopes)
    if missing:
        raise Forbidden(f"{why}; this token lacks the {', '.join(repr(s) for s in missing)} scope(s)")


def require_token_admin(principal: Principal, owner_id: int) -> None:
    """Developer tokens: one's own, or anyone's for an Admin."""
    if principal.user.id != owner_id and not principal.is_admin:
        raise NotFound("no such access token")


# -- connector accounts -------------------------------------------------------------------------------------
ACCOUNT_SCOPE = "account"


def require_account_scope(principal: Principal) -> None:
    """Accounts calls take the `account` scope (Domo's Accounts API) or the `data` scope (connectors use them)."""
    if ACCOUNT_SCOPE not in principal.scopes and DATA_SCOPE not in principal.scopes:
        raise Forbidden(f"this token lacks the {ACCOUNT_SCOPE!r} scope")


def require_account_user(principal: Principal, owner_id: int, account_id: int) -> None:
    """An account is seen, changed and used by its owner and by Admins; others get 403, as for a DataSet.
    (The user, not the credential: the scope is checked where a call arrives, `require_account_scope`.)"""
    if principal.user.id != owner_id and not principal.is_admin:
        raise Forbidden(f"you do not have access to account {account_id}")
