"""Failed logins are slowed down per credential and per remote address: after N failures in the window, a 429
with Retry-After and Domo's error body; others are not affected; the right secret works again after the window."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers import assert_domo_error
from tests.serverproc import Server

PER_CLIENT, PER_ADDRESS, WINDOW_S = 3, 6, 8.0  # a window long enough for N tries on a busy machine


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {
        "DOMOLITE_AUTH_FAILURES_PER_CLIENT": str(PER_CLIENT),
        "DOMOLITE_AUTH_FAILURES_PER_ADDRESS": str(PER_ADDRESS),
        "DOMOLITE_AUTH_FAILURE_WINDOW_S": str(WINDOW_S),
    }
    srv = Server(data_dir=tmp_path_factory.mktemp("throttle") / "data", env=env).start()
    yield srv
    srv.stop()


def new_client(server: Server) -> tuple[str, str]:
    email = f"etl-{uuid.uuid4().hex[:8]}@example.com"
    server.cli("users", "create", "--email", email, "--name", "ETL", "--role", "Privileged")
    made = json.loads(server.cli("clients", "create", "--user", email, "--name", "etl", "--json"))
    return made["clientId"], made["clientSecret"]


def ask(server: Server, client_id: str, secret: str, source: str = "127.0.0.1") -> httpx.Response:
    """A token request from the loopback address `source` (127.0.0.x: another remote address on this machine)."""
    with httpx.Client(base_url=server.url, transport=httpx.HTTPTransport(local_address=source)) as http:
        return http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret))


def wait_out(r: httpx.Response) -> None:
    time.sleep(int(r.headers["Retry-After"]) + 0.2)


def test_a_wrong_secret_in_a_loop_is_throttled_and_others_still_get_tokens(guarded: Server) -> None:
    first_id, first_secret = new_client(guarded)
    other_id, other_secret = new_client(guarded)
    statuses = []
    for _ in range(PER_CLIENT + 1):  # a client library that asks again at every 401
        r = ask(guarded, first_id, "wrong secret")
        statuses.append(r.status_code)
        if r.status_code == 429:
            break
    assert statuses == [401] * PER_CLIENT + [429]
    body = assert_domo_error(r, 429, "too many failed logins")
    assert body["statusReason"] == "Too Many Requests"
    assert 1 <= int(r.headers["Retry-After"]) <= WINDOW_S + 1
    # even the right secret waits now; another client, from the same address, does not
    assert ask(guarded, first_id, first_secret).status_code == 429
    other = ask(guarded, other_id, other_secret)
    assert other.status_code == 200 and other.json()["access_token"]
    wait_out(r)
    again = ask(guarded, first_id, first_secret)
    assert again.status_code == 200, again.text


def test_session_logins_and_developer_tokens_are_throttled_too(guarded: Server) -> None:
    email = f"pw-{uuid.uuid4().hex[:8]}@example.com"
    guarded.cli("users", "create", "--email", email, "--name", "Pw", "--password", "right password")

    def login(password: str) -> httpx.Response:
        body = {"method": "password", "emailAddress": email, "password": password}
        return httpx.post(guarded.url + "/api/content/v2/authentication", json=body)

    answers = [login("wrong").json() for _ in range(PER_CLIENT)]
    assert answers == [{"success": False, "reason": "INVALID_CREDENTIALS"}] * PER_CLIENT
    locked = login("right password")
    assert_domo_error(locked, 429, "too many failed logins")
    wait_out(locked)
    assert login("right password").json()["success"] is True

    token = json.loads(guarded.cli("tokens", "create", "--user", email, "--json"))["token"]
    guarded.cli("tokens", "revoke", "--token", token)
    revoked = [httpx.get(guarded.url + "/v1/datasets", headers={"X-DOMO-Developer-Token": token}) for _ in range(4)]
    assert [r.status_code for r in revoked] == [401] * PER_CLIENT + [429]
    assert "Retry-After" in revoked[-1].headers
    wait_out(revoked[-1])


def test_many_clients_failing_from_one_address_throttle_that_address_only(guarded: Server) -> None:
    good_id, good_secret = new_client(guarded)
    statuses = [ask(guarded, str(uuid.uuid4()), "guess", "127.0.0.2").status_code for _ in range(PER_ADDRESS)]
    assert statuses == [401] * PER_ADDRESS  # each client id failed once: only the address reached its limit
    from_there = ask(guarded, good_id, good_secret, "127.0.0.2")
    assert_domo_error(from_there, 429, "too many failed logins")
    assert ask(guarded, good_id, good_secret).status_code == 200  # from 127.0.0.1
    wait_out(from_there)
    assert ask(guarded, good_id, good_secret, "127.0.0.2").status_code == 200


def test_every_failed_login_is_in_the_audit_log(guarded: Server) -> None:
    client_id, _secret = new_client(guarded)
    ask(guarded, client_id, "wrong", "127.0.0.3")
    with httpx.Client(base_url=guarded.url, headers={"X-DOMO-Developer-Token": guarded.dev_token}) as admin:
        events = admin.get("/v1/audit", params={"actionType": "LOGIN_FAILED", "objectId": client_id}).json()
    assert len(events) == 1
    (event,) = events
    assert event["objectType"] == "CLIENT" and event["ipAddress"] == "127.0.0.3"
    assert (
        event["userId"] is None
        and event["authentication"] == "oauth"
        and "Bad credentials" in event["additionalComment"]
    )
