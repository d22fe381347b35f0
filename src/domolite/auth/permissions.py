"""Who may do what to a DataSet. Pure functions over the principal and the DataSet; raise Forbidden."""

from __future__ import annotations

from domolite.errors import Forbidden
from domolite.models import DataSet, Principal


def require_scope(principal: Principal, scope: str) -> None:
    if scope not in principal.scopes:
        raise Forbidden(f"this token lacks the {scope!r} scope")


def require_read(principal: Principal, dataset: DataSet) -> None:
    """Every authenticated user with the data scope may read (sharing arrives with the access issue)."""
    require_scope(principal, "data")


def require_edit(principal: Principal, dataset: DataSet) -> None:
    require_scope(principal, "data")


def require_delete(principal: Principal, dataset: DataSet) -> None:
    require_scope(principal, "data")
    if not (principal.is_admin or principal.user.id == dataset.owner_id):
        raise Forbidden(f"only the owner of DataSet {dataset.id} or an Admin may delete it")
