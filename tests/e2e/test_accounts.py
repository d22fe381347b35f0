"""Connector accounts (/api/data/v1/accounts and pydomo's /v1/accounts): CRUD, who may see and use them, and
secrets that are never returned, logged or stored in the clear."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydomo import Domo

from domolite.auth.secretbox import SecretBox, open_box
from domolite.catalog import Catalog, open_catalog
from domolite.connectors.accounts import Accounts
from domolite.errors import AccountNotFound, Forbidden, SecretUnreadable
from domolite.models.records import Principal
from tests.e2e.people import make_person
from tests.helpers import assert_domo_error, catalog_dump, catalog_rows
from tests.serverproc import Server

BASE = "/api/data/v1/accounts"
PROVIDER = "amazon-s3-unload-writeback"
SECRET_KEYS = ("domoClientSecret", "accessKey", "secretKey")


def configurations(**changes: str) -> dict[str, str]:
    """A complete configuration whose secrets are unique to this call."""
    tag = uuid.uuid4().hex
    return {
        "domoClientId": f"client-{tag[:8]}",
        "domoClientSecret": f"domo-secret-{tag}",
        "accessKey": f"AKIA{tag[:16].upper()}",
        "secretKey": f"aws-secret-{tag}",
        "bucket": "unload-bucket",
        "region": "us-west-2",
        "endpointUrl": "http://127.0.0.1:9000",
        **changes,
    }


def account_body(name: str, config: dict[str, str]) -> dict[str, Any]:
    return {"displayName": name, "name": name, "dataProviderType": PROVIDER, "configurations": config}


def secrets_of(config: dict[str, str]) -> list[str]:
    return [config[k] for k in SECRET_KEYS]


def open_server_catalog(server: Server) -> Catalog:
    return open_catalog(server.catalog_url)


@pytest.fixture
def server_catalog(server: Server) -> Iterator[Catalog]:
    """The server's catalog, opened in this process (as the admin commands do)."""
    catalog = open_server_catalog(server)
    yield catalog
    catalog.close()


@pytest.fixture
def server_accounts(server: Server, server_catalog: Catalog) -> Accounts:
    """The server's account service, in this process, on its catalog and key file."""
    return Accounts(server_catalog, open_box(None, server.data_dir / "account.key"))


def principal_of(catalog: Catalog, user_id: int) -> Principal:
    """The user as a scheduled run sees them: no credential, so no scopes."""
    return Principal(user=catalog.users.get(user_id), scopes=frozenset())


def test_create_get_list_update_delete(server: Server, api: httpx.Client) -> None:
    owner = make_person(server, api, "Privileged", "acctowner")
    config = configurations()
    created = owner.http.post(BASE, json=account_body("Nightly unload", config))
    assert created.status_code == 200, created.text
    account = created.json()
    account_id = account["id"]
    assert isinstance(account_id, int) and account["accountId"] == account_id
    assert account["userId"] == owner.id and account["createdBy"] == owner.id
    assert (account["name"], account["displayName"]) == ("Nightly unload", "Nightly unload")
    assert (account["dataProviderType"], account["type"], account["valid"]) == (PROVIDER, "data", True)
    assert isinstance(account["createdAt"], int) and account["modifiedAt"] == account["createdAt"]
    assert account["configurations"] == {
        "domoClientId": config["domoClientId"],
        "bucket": "unload-bucket",
        "region": "us-west-2",
        "endpointUrl": "http://127.0.0.1:9000",
    }

    assert owner.http.get(f"{BASE}/{account_id}").json() == account
    assert owner.http.get(f"{BASE}/").json() == [account]  # one's own accounts, with or without the slash
    assert account_id in [a["id"] for a in api.get(BASE, params={"limit": 500}).json()]  # an Admin sees all

    renamed = owner.http.put(f"{BASE}/{account_id}", json={"displayName": "Nightly unload (eu)"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["displayName"] == renamed.json()["name"] == "Nightly unload (eu)"  # one names both
    assert renamed.json()["configurations"] == account["configurations"]  # PUT is partial too
    moved = owner.http.patch(
        f"{BASE}/{account_id}", json={"configurations": {"region": "eu-west-3", "endpointUrl": None}}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["configurations"] == {
        "domoClientId": config["domoClientId"],
        "bucket": "unload-bucket",
        "region": "eu-west-3",  # changed
    }  # endpointUrl removed by null
    assert moved.json()["modifiedAt"] >= account["modifiedAt"] and moved.json()["modifiedBy"] == owner.id

    assert owner.http.delete(f"{BASE}/{account_id}").status_code == 204
    assert_domo_error(owner.http.get(f"{BASE}/{account_id}"), 404, f"Account {account_id} not found")
    assert owner.http.get(BASE).json() == []
    assert_domo_error(owner.http.delete(f"{BASE}/{account_id}"), 404)


def test_pydomo_drives_the_public_accounts_api(server: Server) -> None:
    domo = Domo(server.client_id, server.client_secret, api_host=server.host, use_https=False, log_level=50)
    config = configurations()
    made = domo.accounts_create(name="From pydomo", valid=True, type={"id": PROVIDER, "properties": config})
    account_id = made["id"]
    assert made == {"id": account_id, "name": "From pydomo", "valid": True, "type": {"id": PROVIDER, "properties": {}}}
    assert domo.accounts_get(account_id) == made
    assert made in domo.accounts_list()  # pages with limit/offset until []
    updated = domo.accounts_update(account_id, name="Renamed by pydomo")  # PATCH, answered 202
    assert updated["name"] == "Renamed by pydomo"
    assert domo.accounts_get(account_id)["name"] == "Renamed by pydomo"
    domo.accounts_delete(account_id)  # 204
    assert account_id not in [a["id"] for a in domo.accounts_list()]


@pytest.mark.parametrize("missing", ["bucket", "region", "accessKey", "secretKey", "domoClientId", "domoClientSecret"])
def test_a_missing_required_field_is_a_400_naming_it(api: httpx.Client, missing: str) -> None:
    config = configurations()
    del config[missing]
    r = api.post(BASE, json=account_body("incomplete", config))
    assert_domo_error(r, 400, f"configurations.{missing}", "required")
    for secret in secrets_of({**configurations(), **config}):
        assert secret not in r.text


def test_bad_fields_are_400s_naming_them(api: httpx.Client) -> None:
    unknown = api.post(BASE, json=account_body("x", configurations(authType="basic")))
    assert_domo_error(unknown, 400, "configurations.authType", f"data provider '{PROVIDER}' does not have 'authType'")
    assert_domo_error(api.post(BASE, json=account_body("x", configurations(region="Oregon"))), 400, "region")
    assert_domo_error(api.post(BASE, json=account_body("x", configurations(bucket="No_Such"))), 400, "bucket")
    bad_endpoint = api.post(BASE, json=account_body("x", configurations(endpointUrl="http://me:pw@s3.local")))
    assert_domo_error(bad_endpoint, 400, "endpointUrl", "must not carry credentials")
    blank_secret = api.post(BASE, json=account_body("x", configurations(secretKey="  ")))
    assert_domo_error(blank_secret, 400, "configurations.secretKey", "non-empty string")
    no_provider = api.post(BASE, json={"displayName": "x", "configurations": configurations()})
    assert_domo_error(no_provider, 400, "dataProviderType", "required")
    other_provider = api.post(BASE, json={**account_body("x", configurations()), "dataProviderType": "snowflake"})
    assert_domo_error(other_provider, 400, "dataProviderType", "snowflake", PROVIDER)
    assert_domo_error(api.post(BASE, json={"dataProviderType": PROVIDER}), 400, "displayName")
    assert_domo_error(api.post(BASE, json={**account_body("x", {}), "configurations": "s3"}), 400, "configurations")

    account_id = api.post(BASE, json=account_body("to change", configurations())).json()["id"]
    required_cleared = api.patch(f"{BASE}/{account_id}", json={"configurations": {"bucket": None}})
    assert_domo_error(required_cleared, 400, "configurations.bucket", "required")
    switched = api.patch(f"{BASE}/{account_id}", json={"dataProviderType": "amazon-s3"})
    assert_domo_error(switched, 400, "dataProviderType", "cannot change")


def test_secrets_never_appear_in_replies_log_or_catalog(server: Server, api: httpx.Client) -> None:
    config = configurations()
    replies: list[httpx.Response] = []
    created = api.post(BASE, json=account_body("secretive", config))
    replies.append(created)
    account_id = created.json()["id"]
    replies += [
        api.get(BASE),
        api.get(f"{BASE}/{account_id}"),
        api.put(f"{BASE}/{account_id}", json={"name": "secretive 2", "configurations": config}),
        api.patch(f"{BASE}/{account_id}", json={"configurations": {"secretKey": config["secretKey"]}}),
        api.patch(f"{BASE}/{account_id}", json={"configurations": {**config, "nope": config["secretKey"]}}),
        api.post(BASE, json=account_body("bad", {**config, "region": "nowhere"})),
        api.get("/v1/accounts"),
        api.get(f"/v1/accounts/{account_id}"),
        api.patch(f"/v1/accounts/{account_id}", json={"type": {"id": PROVIDER, "properties": config}}),
        api.post("/v1/accounts", json={"name": "public", "type": {"id": PROVIDER, "properties": config}}),
    ]
    replies.append(api.delete(f"/v1/accounts/{replies[-1].json()['id']}"))
    assert [r.status_code for r in replies] == [200, 200, 200, 200, 200, 400, 400, 200, 200, 202, 200, 204]
    for reply in replies:
        for secret in secrets_of(config):
            assert secret not in reply.text

    log = server.log_text()
    for secret in secrets_of(config):
        assert secret not in log

    if server.catalog_url.startswith("sqlite"):  # every byte of the database file and its WAL
        stored = b"".join(path.read_bytes() for path in sorted(server.data_dir.glob("catalog.sqlite*")))
        for secret in secrets_of(config):
            assert secret.encode() not in stored
    dump = catalog_dump(server.catalog_url)
    for secret in secrets_of(config):
        assert secret not in dump
    ((token, plain),) = catalog_rows(
        server.catalog_url, "SELECT secrets_encrypted, configuration FROM accounts WHERE id = :id", id=account_id
    )
    assert token.startswith("gAAAAA")  # a Fernet token
    box = SecretBox((server.data_dir / "account.key").read_text())
    assert box.decrypt_json(token) == {k: config[k] for k in SECRET_KEYS}
    for secret in secrets_of(config):
        assert secret not in plain


def test_a_patch_without_a_secret_keeps_it(api: httpx.Client, server_accounts: Accounts) -> None:
    config = configurations()
    account_id = api.post(BASE, json=account_body("keeper", config)).json()["id"]
    changed = api.patch(f"{BASE}/{account_id}", json={"configurations": {"bucket": "other-bucket"}})
    assert changed.status_code == 200, changed.text

    creds = server_accounts.credentials(account_id)
    assert (creds.id, creds.name, creds.provider_key, creds.bucket) == (account_id, "keeper", PROVIDER, "other-bucket")
    assert (creds.secret_key, creds.access_key) == (config["secretKey"], config["accessKey"])
    assert (creds.domo_client_id, creds.domo_client_secret) == (config["domoClientId"], config["domoClientSecret"])
    assert (creds.region, creds.endpoint_url) == ("us-west-2", "http://127.0.0.1:9000")
    for secret in secrets_of(config):
        assert secret not in repr(creds)

    rotated = api.patch(f"{BASE}/{account_id}", json={"configurations": {"secretKey": "aws-secret-rotated"}})
    assert rotated.status_code == 200, rotated.text
    assert server_accounts.credentials(account_id).secret_key == "aws-secret-rotated"
    assert server_accounts.credentials(account_id).domo_client_secret == config["domoClientSecret"]
    with pytest.raises(AccountNotFound):
        server_accounts.credentials(10**9)


def test_only_the_owner_and_admins_see_and_use_an_account(
    server: Server, api: httpx.Client, server_catalog: Catalog, server_accounts: Accounts
) -> None:
    owner = make_person(server, api, "Participant", "acctkeeper")
    other = make_person(server, api, "Privileged", "acctsnoop")
    account = owner.http.post(BASE, json=account_body("mine", configurations())).json()
    account_id = account["id"]

    assert_domo_error(other.http.get(f"{BASE}/{account_id}"), 403, f"account {account_id}")
    assert_domo_error(other.http.get(f"/v1/accounts/{account_id}"), 403)
    assert_domo_error(other.http.patch(f"{BASE}/{account_id}", json={"displayName": "stolen"}), 403)
    assert_domo_error(other.http.put(f"{BASE}/{account_id}", json={"configurations": {"bucket": "evil"}}), 403)
    assert_domo_error(other.http.delete(f"{BASE}/{account_id}"), 403)
    assert account_id not in [a["id"] for a in other.http.get(BASE).json()]
    assert owner.http.get(f"{BASE}/{account_id}").json() == account  # unchanged by the attempts

    # what the connector asks before it runs with an account
    with pytest.raises(Forbidden):
        server_accounts.usable_by(principal_of(server_catalog, other.id), account_id)
    with pytest.raises(AccountNotFound):
        server_accounts.usable_by(principal_of(server_catalog, other.id), 10**9)
    server_accounts.usable_by(principal_of(server_catalog, owner.id), account_id)
    server_accounts.usable_by(principal_of(server_catalog, 1), account_id)  # the bootstrap Admin

    assert api.get(f"{BASE}/{account_id}").status_code == 200  # an Admin may
    assert api.patch(f"{BASE}/{account_id}", json={"valid": False}).json()["valid"] is False


def test_deleting_a_user_deletes_their_accounts(server: Server, api: httpx.Client) -> None:
    leaver = make_person(server, api, "Privileged", "acctleaver")
    account_id = leaver.http.post(BASE, json=account_body("leaving", configurations())).json()["id"]
    assert api.delete(f"/v1/users/{leaver.id}").status_code == 204
    assert_domo_error(api.get(f"{BASE}/{account_id}"), 404)
    replacement = api.post(BASE, json=account_body("later", configurations())).json()["id"]
    assert replacement > account_id  # ids are never reused


def scoped_client(server: Server, scope: str) -> httpx.Client:
    made = json.loads(
        server.cli("clients", "create", "--user", "admin@domolite.local", "--name", scope, "--scope", scope, "--json")
    )
    grant = httpx.post(
        server.url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(made["clientId"], made["clientSecret"]),
    )
    return server.client(grant.json()["access_token"])


def test_accounts_take_the_account_or_the_data_scope(server: Server) -> None:
    with scoped_client(server, "user") as users_only:
        assert_domo_error(users_only.get(BASE), 403, "'account' scope")
        assert_domo_error(users_only.post("/v1/accounts", json={"name": "x"}), 403, "'account' scope")
    with scoped_client(server, "account") as accounts_only:
        made = accounts_only.post(
            "/v1/accounts", json={"name": "x", "type": {"id": PROVIDER, "properties": configurations()}}
        )
        assert made.status_code == 200, made.text
        assert accounts_only.get(f"{BASE}/{made.json()['id']}").status_code == 200


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(data_dir=tmp_path / "data")
    yield srv
    srv.stop()


def test_accounts_survive_a_restart_and_a_wrong_key_is_reported(own_server: Server) -> None:
    own_server.start()
    key_file = own_server.data_dir / "account.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    first_key = key_file.read_text()
    config = configurations()
    with own_server.client() as api:
        account = api.post(BASE, json=account_body("durable", config)).json()
    own_server.stop()

    own_server.start()
    assert key_file.read_text() == first_key  # the same key, read again
    with own_server.client() as api:
        assert api.get(f"{BASE}/{account['id']}").json() == account
    catalog = open_server_catalog(own_server)
    try:
        assert Accounts(catalog, open_box(None, key_file)).credentials(account["id"]).secret_key == config["secretKey"]
        wrong = Accounts(catalog, open_box(SecretBox.new_key(), key_file))
        with pytest.raises(SecretUnreadable):
            wrong.credentials(account["id"])
        assert wrong.check_key() == 1
    finally:
        catalog.close()
    own_server.stop()

    own_server.env["DOMOLITE_ACCOUNT_KEY"] = SecretBox.new_key()  # a key that did not encrypt them
    own_server.start()
    assert "cannot decrypt the secrets of 1 account(s)" in own_server.log_text()
    with own_server.client() as api:
        assert api.get(f"{BASE}/{account['id']}").status_code == 200  # the non-secret part still reads
        r = api.patch(f"{BASE}/{account['id']}", json={"configurations": {"bucket": "other-bucket"}})
        assert_domo_error(r, 500)
        # sending every secret again re-encrypts them with the new key
        renewed = {k: config[k] for k in SECRET_KEYS}
        assert api.patch(f"{BASE}/{account['id']}", json={"configurations": renewed}).status_code == 200
    catalog = open_server_catalog(own_server)
    try:
        accounts = Accounts(catalog, open_box(own_server.env["DOMOLITE_ACCOUNT_KEY"], key_file))
        assert accounts.credentials(account["id"]).domo_client_secret == config["domoClientSecret"]
    finally:
        catalog.close()
    for secret in secrets_of(config):
        assert secret not in own_server.log_text()
