"""Who may do what to a DataSet: the access levels' capabilities, the scopes a credential needs, Admins and
owners, and who bypasses PDP (pure functions over the principal and the DataSet)."""

from __future__ import annotations

import pytest

from domolite.access import permissions
from domolite.errors import Forbidden
from domolite.models.access import AccessLevel, Capability
from domolite.models.records import Principal, Role
from tests.unit.records import OWNER_ID, dataset, principal

pytestmark = pytest.mark.unit

CHECKS = {
    "read": permissions.require_read,
    "edit": permissions.require_edit,
    "share": permissions.require_share,
    "manage": permissions.require_manage,
    "delete": permissions.require_delete,
}
# What each way of holding a DataSet allows (the e2e access matrix drives the same over HTTP).
ALLOWED = {
    "stranger": set(),
    AccessLevel.READ: {"read"},
    AccessLevel.CAN_SHARE: {"read", "share"},
    AccessLevel.CAN_EDIT: {"read", "share", "edit"},
    AccessLevel.CO_OWNER: {"read", "share", "edit", "manage", "delete"},
    "owner": {"read", "share", "edit", "manage", "delete"},
    "admin": {"read", "share", "edit", "manage", "delete"},
}


def caller(holder: AccessLevel | str) -> Principal:
    if holder == "owner":
        return principal(OWNER_ID)
    if holder == "admin":
        return principal(9, Role.ADMIN)
    if holder == "stranger":
        return principal()
    return principal(grants={"ds-1": AccessLevel(holder)})


@pytest.mark.parametrize("holder", list(ALLOWED))
@pytest.mark.parametrize("check", list(CHECKS))
def test_each_level_allows_exactly_its_capabilities(holder: AccessLevel | str, check: str) -> None:
    who = caller(holder)
    if check in ALLOWED[holder]:
        CHECKS[check](who, dataset())
    else:
        with pytest.raises(Forbidden) as refused:
            CHECKS[check](who, dataset())
        # one who cannot read is not told more than that they have no access
        if "read" not in ALLOWED[holder]:
            assert refused.value.message == "you do not have access to DataSet ds-1"


def test_a_credential_without_the_data_scope_reads_nothing_even_as_admin() -> None:
    admin = principal(9, Role.ADMIN, scopes=frozenset({"user"}))
    assert not permissions.can(admin, dataset(), Capability.READ)
    with pytest.raises(Forbidden, match="'data' scope"):
        permissions.require_read(admin, dataset())


def test_a_group_grant_counts_as_the_users_own() -> None:
    # grants are read with the credential: the best of the user's and their groups' shares
    assert permissions.access_level(principal(grants={"ds-1": AccessLevel.CAN_EDIT}), dataset()) is AccessLevel.CAN_EDIT
    assert permissions.access_level(principal(), dataset()) is None
    assert permissions.access_level(principal(OWNER_ID), dataset()) is AccessLevel.OWNER


def test_participants_cannot_create_datasets() -> None:
    permissions.require_create(principal())
    with pytest.raises(Forbidden, match="Participant"):
        permissions.require_create(principal(role=Role.PARTICIPANT))


@pytest.mark.parametrize(
    ("holder", "bypasses"),
    [("owner", True), ("admin", True), (AccessLevel.CO_OWNER, False), (AccessLevel.READ, False)],
)
def test_only_the_owner_and_admins_bypass_pdp(holder: AccessLevel | str, bypasses: bool) -> None:
    assert permissions.bypasses_pdp(caller(holder), dataset()) is bypasses
