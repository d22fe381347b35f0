"""Connector accounts: the credentials a connector runs with, their secret fields encrypted at rest.

An account has a data provider type, which says which configuration keys it takes, which are required and which
are secret. The secret ones are kept only as one Fernet token (`secretbox`) and never leave this module except in
`AccountCredentials`, which only the connector asks for. Who may see, change and use an account: its owner and
Admins (`permissions.require_account_user`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from domolite.access import permissions
from domolite.audit.log import AuditLog
from domolite.auth.secretbox import SecretBox
from domolite.catalog import Catalog
from domolite.errors import AccountNotFound, InvalidField, SecretUnreadable
from domolite.models.audit import Action, ObjectType
from domolite.models.exports import check_bucket, check_endpoint_url, check_region
from domolite.models.records import Account, Principal

log = logging.getLogger("domolite")


@dataclass(frozen=True)
class Provider:
    """A data provider type's configuration keys (Domo's names), required ones in the order they are reported."""

    key: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    secret: frozenset[str]

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self.required + self.optional)


S3_UNLOAD_WRITEBACK = Provider(
    key="amazon-s3-unload-writeback",
    required=("domoClientId", "domoClientSecret", "accessKey", "secretKey", "bucket", "region"),
    optional=("endpointUrl", "allowExternalUse"),
    # The AWS access key id is not a password, but it names an IAM identity and is half of a credential pair:
    # it is kept and hidden with the secrets. The Domo client id is shown, as an OAuth client id usually is.
    secret=frozenset({"domoClientSecret", "accessKey", "secretKey"}),
)
PROVIDERS: Mapping[str, Provider] = {p.key: p for p in (S3_UNLOAD_WRITEBACK,)}

FLAGS = frozenset({"allowExternalUse"})  # booleans (domolibrary sends allowExternalUse with every account)
CHECKS: Mapping[str, Callable[[str, str], str]] = {
    "bucket": check_bucket,
    "region": check_region,
    "endpointUrl": check_endpoint_url,
}


@dataclass(frozen=True)
class AccountSpec:
    """What a client sends. On update, None leaves a field as it was, and so does a configuration key left out;
    a configuration key sent as null is removed (if it is optional)."""

    name: str | None = None
    display_name: str | None = None
    provider_key: str | None = None
    configuration: Mapping[str, Any] = field(default_factory=dict)
    valid: bool | None = None


@dataclass(frozen=True)
class AccountCredentials:
    """Everything a connector needs to run with an account, secrets decrypted. Never returned or logged."""

    id: int
    owner_id: int
    name: str
    provider_key: str
    domo_client_id: str
    domo_client_secret: str = field(repr=False)
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    bucket: str
    region: str
    endpoint_url: str | None


def _provider(key: str | None) -> Provider:
    if not key:
        raise InvalidField("dataProviderType", "required")
    provider = PROVIDERS.get(key)
    if provider is None:
        raise InvalidField("dataProviderType", f"unknown data provider {key!r}; known: {', '.join(sorted(PROVIDERS))}")
    return provider


def _value(key: str, value: Any, where: str) -> Any:
    if key in FLAGS:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise InvalidField(where, "must be true or false")
    if not isinstance(value, str) or not value.strip():
        raise InvalidField(where, "must be a non-empty string")  # never echo the value: it may be a secret
    check = CHECKS.get(key)
    return check(value.strip(), where) if check else value.strip()


def _configuration(provider: Provider, current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """`current` with `changes` applied, every key known to the provider, every value checked, none missing."""
    result = dict(current)
    for key, value in changes.items():
        where = f"configurations.{key}"
        if key not in provider.known:
            raise InvalidField(where, f"data provider {provider.key!r} does not have {key!r} configuration")
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _value(key, value, where)
    for key in provider.required:
        if key not in result:
            raise InvalidField(f"configurations.{key}", f"required for data provider {provider.key!r}")
    return result


def _names(spec: AccountSpec, before: Account | None) -> tuple[str, str]:
    """(name, displayName): either one stands for both when only one is sent."""
    display = spec.display_name if spec.display_name is not None else spec.name
    name = spec.name if spec.name is not None else spec.display_name
    if before is not None:
        display = before.display_name if display is None else display
        name = before.name if name is None else name
    if display is None or not display.strip():
        raise InvalidField("displayName", "an account needs a name")
    if name is None or not name.strip():
        raise InvalidField("name", "an account needs a name")
    return name.strip(), display.strip()


class Accounts:
    def __init__(self, catalog: Catalog, box: SecretBox, audit: AuditLog | None = None) -> None:
        self.store = catalog.accounts
        self.box = box
        self.audit = audit

    # -- for users ------------------------------------------------------------------------------------------
    def create(self, principal: Principal, spec: AccountSpec) -> Account:
        permissions.require_account_scope(principal)
        name, display = _names(spec, None)
        provider = _provider(spec.provider_key)
        plain, secret = self._split(provider, _configuration(provider, {}, spec.configuration))
        return self.store.insert(
            owner_id=principal.user.id,
            name=name,
            display_name=display,
            provider_key=provider.key,
            configuration=plain,
            secrets_encrypted=self.box.encrypt_json(secret),
            valid=True if spec.valid is None else spec.valid,
        )

    def get(self, principal: Principal, account_id: int) -> Account:
        permissions.require_account_scope(principal)
        account = self.store.get(account_id)
        permissions.require_account_user(principal, account.owner_id, account.id)
        return account

    def list(self, principal: Principal, *, limit: int, offset: int) -> list[Account]:
        """One's own accounts; every account for an Admin."""
        permissions.require_account_scope(principal)
        owner = None if principal.is_admin else principal.user.id
        return self.store.list_accounts(owner, limit=limit, offset=offset)

    def update(self, principal: Principal, account_id: int, spec: AccountSpec) -> Account:
        """Partial: what the spec leaves out stays, secrets included."""
        before = self.get(principal, account_id)
        provider = _provider(before.provider_key)
        if spec.provider_key is not None and spec.provider_key != before.provider_key:
            raise InvalidField("dataProviderType", "cannot change; create a new account for another provider")
        name, display = _names(spec, before)
        try:
            stored = self.box.decrypt_json(before.secrets_encrypted)
        except SecretUnreadable:
            if not provider.secret <= spec.configuration.keys():
                raise
            stored = {}  # every secret is sent again: the account is re-encrypted with this server's key
        current = {**before.configuration, **stored}
        plain, secret = self._split(provider, _configuration(provider, current, spec.configuration))
        return self.store.replace(
            before,
            name=name,
            display_name=display,
            configuration=plain,
            secrets_encrypted=self.box.encrypt_json(secret),
            valid=before.valid if spec.valid is None else spec.valid,
            modified_by=principal.user.id,
        )

    def delete(self, principal: Principal, account_id: int) -> None:
        account = self.get(principal, account_id)
        self.store.delete(account_id)
        if self.audit is not None:
            comment = f"{account.provider_key} account of user {account.owner_id}"
            self.audit.record(
                self.audit.event(principal, Action.DELETED, ObjectType.ACCOUNT, account.id, account.name, comment)
            )

    def usable_by(self, principal: Principal, account_id: int) -> Account:
        """The account (no secrets) if the principal's user may use it (its owner, an Admin). Raises
        AccountNotFound or Forbidden. The credential's scopes are not looked at: a scheduled run has none."""
        account = self.store.get(account_id)
        permissions.require_account_user(principal, account.owner_id, account.id)
        return account

    def find(self, account_id: int) -> Account | None:
        """The account without its secrets, or None; no permission check (a stream shows its account's name)."""
        try:
            return self.store.get(account_id)
        except AccountNotFound:
            return None

    # -- for the connector ----------------------------------------------------------------------------------
    def credentials(self, account_id: int) -> AccountCredentials:
        """The account with its secrets decrypted. No permission check: the caller has done it (`usable_by`).

        Raises:
            AccountNotFound: no such account.
            SecretUnreadable: the server's account key is not the one the secrets were encrypted with.
        """
        account = self.store.get(account_id)
        values = {**account.configuration, **self.box.decrypt_json(account.secrets_encrypted)}
        return AccountCredentials(
            id=account.id,
            owner_id=account.owner_id,
            name=account.display_name,
            provider_key=account.provider_key,
            domo_client_id=values["domoClientId"],
            domo_client_secret=values["domoClientSecret"],
            access_key=values["accessKey"],
            secret_key=values["secretKey"],
            bucket=values["bucket"],
            region=values["region"],
            endpoint_url=values.get("endpointUrl"),
        )

    def check_key(self) -> int:
        """How many accounts' secrets this server's key cannot decrypt (logged as a warning when any)."""
        unreadable = []
        for account_id, token in self.store.encrypted_secrets():
            try:
                self.box.decrypt(token)
            except SecretUnreadable:
                unreadable.append(account_id)
        if unreadable:
            log.warning(
                "the account key cannot decrypt the secrets of %d account(s) (ids %s); connectors using them will "
                "fail until the key they were made with is restored",
                len(unreadable),
                ", ".join(map(str, unreadable[:20])),
            )
        return len(unreadable)

    @staticmethod
    def _split(provider: Provider, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        plain = {k: v for k, v in values.items() if k not in provider.secret}
        secret = {k: v for k, v in values.items() if k in provider.secret}
        return plain, secret
