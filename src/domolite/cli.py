"""The `domolite` command: serve, and admin commands that work on a data dir with or without a running server."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from domolite.client.commands import register as register_user_commands

if TYPE_CHECKING:  # imported when a command needs it: the user commands start without pydantic
    from domolite.settings import Settings


def _settings(**flags: Any) -> Settings:
    from domolite.settings import Settings

    return Settings(**{k: v for k, v in flags.items() if v is not None})


def _emit(as_json: bool, payload: dict[str, Any], text: str) -> None:
    click.echo(json.dumps(payload) if as_json else text)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


data_dir_option = click.option(
    "--data-dir", type=click.Path(path_type=Path), default=None, help="Data directory [env DOMOLITE_DATA_DIR]."
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON.")


@click.group()
@click.version_option(package_name="domolite")
def main() -> None:
    """domolite: a self-hosted DataSet platform that speaks Domo's APIs."""


@main.command()
@click.option("--host", default=None, help="Interface to bind [env DOMOLITE_HOST, default 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [env DOMOLITE_PORT, default 8000].")
@data_dir_option
@click.option("--catalog-url", default=None, help="SQLAlchemy catalog URL [env DOMOLITE_CATALOG_URL].")
@click.option("--query-timeout-s", type=float, default=None, help="SQL time limit [env DOMOLITE_QUERY_TIMEOUT_S].")
@click.option("--log-level", default=None, help="Log level [env DOMOLITE_LOG_LEVEL].")
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default=None, help="Log format [env DOMOLITE_LOG_FORMAT]."
)
def serve(**flags: Any) -> None:
    """Run the HTTP server."""
    import uvicorn

    from domolite.app import create_app
    from domolite.auth.bootstrap import bootstrap_if_empty, check_shared_keys, open_server_catalog
    from domolite.server import logs

    settings = _settings(**flags)
    try:
        check_shared_keys(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    logs.configure(settings.log_level, settings.log_format)
    catalog = open_server_catalog(settings)
    first = bootstrap_if_empty(catalog, settings)
    catalog.close()
    if first:
        lines = [
            "domolite: first start; these credentials are shown once:",
            f"  admin user      {first.admin.email} (id {first.admin.id})",
        ]
        if first.password:
            lines.append(f"  admin password  {first.password}")
        lines += [
            f"  client id       {first.client_id}",
            f"  client secret   {first.client_secret}",
            f"  developer token {first.developer_token}",
        ]
        click.echo("\n".join(lines), err=True)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=5,
        log_config=None,
    )


def _catalog(data_dir: Path | None, catalog_url: str | None = None) -> Any:
    from domolite.auth.bootstrap import open_server_catalog

    return open_server_catalog(_settings(data_dir=data_dir, catalog_url=catalog_url))


def _audit(catalog: Any, data_dir: Path | None, action: str, object_type: str, object_id: str, comment: str) -> None:
    """An audit event of an admin command (no user: the command line, `via` cli)."""
    from domolite.audit.log import AuditLog
    from domolite.models.audit import Action, ObjectType

    audit = AuditLog(catalog.audit, _settings(data_dir=data_dir).audit_retention_s)
    audit.record(audit.event(None, Action(action), ObjectType(object_type), object_id, comment=comment, via="cli"))


@main.group()
def users() -> None:
    """Manage users."""


@users.command("create")
@data_dir_option
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", default="Participant", type=click.Choice(["Admin", "Privileged", "Participant"]))
@click.option("--password", default=None)
@json_option
def users_create(data_dir: Path | None, email: str, name: str, role: str, password: str | None, as_json: bool) -> None:
    """Create a user; prints its integer id."""
    from domolite.auth.bootstrap import create_user
    from domolite.errors import DomoError

    try:
        user = create_user(_catalog(data_dir), email, name, role, password)
    except DomoError as exc:
        _fail(exc.message)
        return
    _emit(as_json, {"id": user.id}, f"created user {user.id} ({user.email})")


@main.group()
def clients() -> None:
    """Manage OAuth clients."""


@clients.command("create")
@data_dir_option
@click.option("--user", "email", required=True, help="E-mail of the user the client acts as.")
@click.option("--name", required=True)
@click.option("--scope", default="data,user", help="Comma-separated scopes.")
@json_option
def clients_create(data_dir: Path | None, email: str, name: str, scope: str, as_json: bool) -> None:
    """Create an OAuth client (client credentials grant)."""
    from domolite.auth.tokens import TokenService, parse_scopes
    from domolite.errors import DomoError

    catalog = _catalog(data_dir)
    try:
        user, _ = catalog.users.find_by_email(email)
        client_id, secret = TokenService(catalog, 3600).create_client(user.id, name, tuple(sorted(parse_scopes(scope))))
    except DomoError as exc:
        _fail(exc.message)
        return
    _audit(catalog, data_dir, "CREATED", "CLIENT", client_id, f"OAuth client {name!r} for user {user.id}")
    _emit(as_json, {"clientId": client_id, "clientSecret": secret}, f"client id {client_id}\nclient secret {secret}")


@main.group()
def tokens() -> None:
    """Manage developer tokens."""


@tokens.command("create")
@data_dir_option
@click.option("--user", "email", required=True, help="E-mail of the user the token acts as.")
@click.option("--name", default="developer token")
@json_option
def tokens_create(data_dir: Path | None, email: str, name: str, as_json: bool) -> None:
    """Create a developer access token (X-DOMO-Developer-Token)."""
    from domolite.auth.tokens import TokenService
    from domolite.errors import DomoError

    catalog = _catalog(data_dir)
    try:
        user, _ = catalog.users.find_by_email(email)
        tokens = TokenService(catalog, 3600)
        token = tokens.create_dev_token(user.id, name)
    except DomoError as exc:
        _fail(exc.message)
        return
    _audit(catalog, data_dir, "CREATED", "ACCESS_TOKEN", tokens.dev_token_id(token), f"for user {user.id}")
    _emit(as_json, {"token": token}, token)


@tokens.command("revoke")
@data_dir_option
@click.option("--token", "token", default=None, help="The developer token itself.")
@click.option("--id", "token_id", default=None, help="The token's id (as listed by the API).")
@json_option
def tokens_revoke(data_dir: Path | None, token: str | None, token_id: str | None, as_json: bool) -> None:
    """Revoke a developer token: its next call gets a 401."""
    from domolite.auth.tokens import TokenService
    from domolite.errors import DomoError

    if (token is None) == (token_id is None):
        _fail("give exactly one of --token or --id")
        return
    catalog = _catalog(data_dir)
    try:
        revoked = TokenService(catalog, 3600).revoke_dev_token(token=token, token_id=token_id)
    except DomoError as exc:
        _fail(exc.message)
        return
    _audit(catalog, data_dir, "REVOKED", "ACCESS_TOKEN", revoked, "")
    _emit(as_json, {"id": revoked, "revoked": True}, f"revoked developer token {revoked}")


@main.group()
def keys() -> None:
    """Manage the keys that sign OAuth and session tokens."""


@keys.command("rotate")
@data_dir_option
@json_option
def keys_rotate(data_dir: Path | None, as_json: bool) -> None:
    """A new signing key signs from now on; tokens signed by the old one stay valid until they expire."""
    from domolite.auth.bootstrap import signing_keys

    settings = _settings(data_dir=data_dir)
    catalog = _catalog(data_dir)
    try:
        fresh = signing_keys(settings).rotate()
    except ValueError as exc:
        _fail(str(exc))
        return
    _audit(catalog, data_dir, "ROTATED", "SIGNING_KEY", fresh.kid, "")
    _emit(as_json, {"kid": fresh.kid}, f"the signing key {fresh.kid} signs from now on")


register_user_commands(main)  # upload, export, query, datasets, versions, s3-export, login


@main.command("backup")
@data_dir_option
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@json_option
def backup_command(data_dir: Path | None, dest: Path, as_json: bool) -> None:
    """Back up the catalog, lake and keys into DEST (a new folder); safe while the server runs."""
    from domolite.storage.backup import BackupError, backup

    try:
        manifest = backup(_settings(data_dir=data_dir), dest)
    except BackupError as exc:
        _fail(str(exc))
        return
    _emit(as_json, manifest, f"backed up into {dest} ({manifest['parquetFiles']} Parquet files)")


@main.command("restore")
@data_dir_option
@click.argument("source", type=click.Path(exists=True, file_okay=False, path_type=Path))
@json_option
def restore_command(data_dir: Path | None, source: Path, as_json: bool) -> None:
    """Restore a backup from SOURCE into an empty data dir (with no server running on it)."""
    from domolite.storage.backup import BackupError, restore

    try:
        manifest = restore(_settings(data_dir=data_dir), source)
    except BackupError as exc:
        _fail(str(exc))
        return
    _emit(as_json, manifest, f"restored the backup of {manifest['createdAt']} from {source}")
