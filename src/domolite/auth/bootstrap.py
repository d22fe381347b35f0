"""Opening a server's catalog and signing keys; the first start of an empty data dir (admin user, OAuth client,
developer token); and the admin commands."""

from __future__ import annotations

from dataclasses import dataclass

from domolite.auth.secrets import hash_secret, random_secret
from domolite.auth.signing import SigningKeys
from domolite.auth.tokens import TokenService
from domolite.catalog import Catalog, open_catalog
from domolite.errors import Conflict, InvalidField
from domolite.models.records import Role, User
from domolite.settings import Settings


def signing_keys(settings: Settings) -> SigningKeys:
    configured = settings.signing_keys.get_secret_value() if settings.signing_keys else None
    return SigningKeys(configured, settings.signing_key_file, settings.longest_token_lifetime_s)


def check_shared_keys(settings: Settings) -> None:
    """Processes that share a lake in S3 and a PostgreSQL catalog share no data dir, so the keys that would be
    made in one (token signing keys, the account key) must be given to each by the settings.

    Raises:
        ValueError: a key setting is missing (names it).
    """
    if not settings.shared_lake:
        return
    missing = [
        name
        for name, value in (
            ("DOMOLITE_SIGNING_KEYS", settings.signing_keys),
            ("DOMOLITE_ACCOUNT_KEY", settings.account_key),
        )
        if value is None
    ]
    if missing:
        raise ValueError(
            f"the lake is in S3 and the catalog in PostgreSQL, so server processes share no data dir: set "
            f"{' and '.join(missing)} to the same value for every process (docs/configuration.md)"
        )


def open_server_catalog(settings: Settings) -> Catalog:
    """The catalog, migrated; a token signing key an older version kept in it moves to the signing keys."""
    return open_catalog(settings.resolved_catalog_url, legacy_signing_key_sink=signing_keys(settings).adopt_legacy)


@dataclass(frozen=True)
class Bootstrap:
    admin: User
    password: str | None
    client_id: str
    client_secret: str
    developer_token: str


def bootstrap_if_empty(catalog: Catalog, settings: Settings) -> Bootstrap | None:
    """Create the admin, one client and one developer token when the catalog has no user yet. Of several
    processes starting together on an empty catalog, the one that makes the admin does it; None for the rest."""
    if catalog.users.count() > 0:
        return None
    given = settings.admin_password.get_secret_value() if settings.admin_password else None
    password = given or random_secret(12)
    try:
        admin = catalog.users.create(settings.admin_email, "Admin", Role.ADMIN, hash_secret(password))
    except Conflict:
        return None  # another process made the admin first
    tokens = TokenService(catalog, settings.token_lifetime_s)
    client_id, client_secret = tokens.create_client(admin.id, "bootstrap", ("data", "user"))
    dev = tokens.create_dev_token(admin.id, "bootstrap")
    return Bootstrap(admin, None if given else password, client_id, client_secret, dev)


def create_user(catalog: Catalog, email: str, name: str, role: str, password: str | None) -> User:
    if "@" not in email:
        raise InvalidField("email", f"{email!r} is not an e-mail address")
    return catalog.users.create(email, name, Role.parse(role), hash_secret(password) if password else None)
