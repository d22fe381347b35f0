"""Where the user commands connect, and how they sign in: flags, then DOMOLITE_SERVER / DOMOLITE_TOKEN /
DOMOLITE_CLIENT_ID / DOMOLITE_CLIENT_SECRET, then a profile written by `domolite login` (a JSON file under the
user's config dir, mode 0600). The only module of the client that knows HTTP errors: each becomes a `ClientError`
whose message says what to do."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import platformdirs

from domolite.client.errors import ClientError

TIMEOUT = httpx.Timeout(30.0, read=600.0)  # a commit or a large query may take minutes to answer


@dataclass(frozen=True)
class Credentials:
    server: str
    token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None


def config_file() -> Path:
    """The profiles file: <user config dir>/domolite/profiles.json (XDG_CONFIG_HOME on Linux)."""
    return Path(platformdirs.user_config_dir("domolite")) / "profiles.json"


def read_profiles() -> dict[str, dict[str, str]]:
    path = config_file()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise ClientError(f"{path} is not valid JSON ({exc}); remove it and run `domolite login` again") from None
    return dict(data.get("profiles", {}))


def save_profile(name: str, credentials: Credentials) -> Path:
    """Write (or replace) one profile; the file is created readable by its owner only (0600)."""
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    profiles = read_profiles()
    profiles[name] = {k: v for k, v in asdict(credentials).items() if v}
    temp = path.with_name(path.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"profiles": profiles}, out, indent=2)
    os.chmod(temp, 0o600)
    os.replace(temp, path)
    return path


def resolve(
    server: str | None,
    token: str | None,
    client_id: str | None,
    client_secret: str | None,
    profile: str | None,
) -> Credentials:
    """Flags (already merged with the environment by the CLI) over the profile's fields."""
    saved = read_profiles().get(profile or "default", {})
    if profile and not saved:
        raise ClientError(f"no profile {profile!r} in {config_file()}; create it with `domolite login --profile`")
    flagged = token or client_id or client_secret
    creds = Credentials(
        server=(server or saved.get("server") or "").rstrip("/"),
        token=token if flagged else saved.get("token"),
        client_id=client_id if flagged else saved.get("client_id"),
        client_secret=client_secret if flagged else saved.get("client_secret"),
    )
    if not creds.server:
        raise ClientError("no server: give --server URL, set DOMOLITE_SERVER, or run `domolite login`")
    if not creds.token and not (creds.client_id and creds.client_secret):
        raise ClientError(
            "no credentials: give --token (a developer token) or --client-id and --client-secret, set "
            "DOMOLITE_TOKEN or DOMOLITE_CLIENT_ID and DOMOLITE_CLIENT_SECRET, or run `domolite login`"
        )
    return creds


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:  # not the server's error body: its first line, at most 200 characters
        first = response.text.strip().splitlines()[0] if response.text.strip() else ""
        return first[:200] or response.reason_phrase
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error_description") or body.get("error") or body)
    return str(body)[:300]


class Api:
    """One signed-in HTTP client (thread-safe: upload parts share it)."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.http = httpx.Client(base_url=credentials.server, timeout=TIMEOUT)
        self.http.headers.update(self._auth_headers())

    def close(self) -> None:
        self.http.close()

    def _auth_headers(self) -> dict[str, str]:
        creds = self.credentials
        if creds.token:
            return {"X-DOMO-Developer-Token": creds.token}
        assert creds.client_id and creds.client_secret
        try:
            r = httpx.post(
                creds.server + "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(creds.client_id, creds.client_secret),
                timeout=TIMEOUT,
            )
        except httpx.TransportError as exc:
            raise ClientError(f"cannot reach {creds.server}: {exc}") from None
        if r.status_code in (400, 401, 403):
            raise ClientError(
                f"the server at {creds.server} refused the OAuth client {creds.client_id!r} ({r.status_code}: "
                f"{_message(r)}); check --client-id/--client-secret (DOMOLITE_CLIENT_ID/DOMOLITE_CLIENT_SECRET) "
                "or run `domolite login` again"
            )
        self.check(r, "getting an access token")
        return {"Authorization": f"bearer {r.json()['access_token']}"}

    def check(self, response: httpx.Response, doing: str) -> httpx.Response:
        """`response` if it succeeded, else a ClientError saying what failed while `doing` what."""
        if response.is_success:
            return response
        status = response.status_code
        if status == 401:
            how = "developer token" if self.credentials.token else "access token"
            raise ClientError(
                f"the server at {self.credentials.server} refused the {how} (401: {_message(response)}); check "
                "--token (DOMOLITE_TOKEN) or --client-id/--client-secret, or run `domolite login` again"
            )
        raise ClientError(f"{doing} failed: {status} {_message(response)}")

    def request(self, method: str, path: str, doing: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ClientError(f"{doing} failed: cannot reach {self.credentials.server} ({exc})") from None
        return self.check(response, doing)

    def json(self, method: str, path: str, doing: str, **kwargs: Any) -> Any:
        response = self.request(method, path, doing, **kwargs)
        try:
            return response.json()
        except ValueError:  # a proxy's sign-in page, say: not the server's API
            kind = response.headers.get("content-type", "no content type")
            raise ClientError(
                f"{doing} failed: {self.credentials.server} answered {response.status_code} with {kind}, not JSON; "
                "is it a domolite (or Domo) server?"
            ) from None

    @contextmanager
    def stream(self, path: str, doing: str, **kwargs: Any) -> Iterator[httpx.Response]:
        try:
            with self.http.stream("GET", path, **kwargs) as response:
                if not response.is_success:
                    response.read()
                yield self.check(response, doing)
        except httpx.TransportError as exc:
            raise ClientError(f"{doing} failed: cannot reach {self.credentials.server} ({exc})") from None
