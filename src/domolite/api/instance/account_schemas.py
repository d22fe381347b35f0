"""Wire shapes of connector accounts: the instance form (/api/data/v1/accounts, as domolibrary sends it) and the
public form (/v1/accounts, as pydomo sends it). Replies never carry a secret configuration key, not even masked."""

from __future__ import annotations

from typing import Any

from domolite.api.instance.schemas import epoch_ms
from domolite.api.public.schemas import Name, ProviderType, WireModel
from domolite.connectors.accounts import AccountSpec
from domolite.models.records import Account


class AccountIn(WireModel):
    """`{"displayName", "name", "dataProviderType", "configurations": {...}}`; Domo's `type: "data"`,
    `credentialsType` and the like are accepted and ignored."""

    name: Name | None = None
    display_name: Name | None = None
    data_provider_type: ProviderType | None = None
    configurations: dict[str, Any] | None = None
    valid: bool | None = None

    def to_spec(self) -> AccountSpec:
        return AccountSpec(
            name=self.name,
            display_name=self.display_name,
            provider_key=self.data_provider_type,
            configuration=self.configurations or {},
            valid=self.valid,
        )


def account_out(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "accountId": account.id,
        "userId": account.owner_id,
        "name": account.name,
        "displayName": account.display_name,
        "type": "data",
        "valid": account.valid,
        "dataProviderType": account.provider_key,
        "createdAt": epoch_ms(account.created_at),
        "createdBy": account.owner_id,
        "modifiedAt": epoch_ms(account.modified_at),
        "modifiedBy": account.modified_by,
        "configurations": dict(account.configuration),
    }


# -- the public Accounts API --------------------------------------------------------------------------------
class AccountTypeIn(WireModel):
    id: ProviderType | None = None
    properties: dict[str, Any] | None = None


class PublicAccountIn(WireModel):
    """`{"name", "valid", "type": {"id": <data provider type>, "properties": {...}}}`."""

    name: Name | None = None
    valid: bool | None = None
    type: AccountTypeIn | None = None

    def to_spec(self) -> AccountSpec:
        return AccountSpec(
            name=self.name,
            display_name=self.name,
            provider_key=self.type.id if self.type else None,
            configuration=(self.type.properties if self.type else None) or {},
            valid=self.valid,
        )


def public_account_out(account: Account) -> dict[str, Any]:
    """Domo's public Account object: the id as a string, and no properties in the type (as Domo's docs say)."""
    return {
        "id": str(account.id),
        "name": account.display_name,
        "valid": account.valid,
        "type": {"id": account.provider_key, "properties": {}},
    }
