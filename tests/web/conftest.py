"""The Data Center in a real browser: Playwright driving Debian's Chromium (`./dev test` installs it) against a
real `domolite serve`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser import launch_chromium
from tests.export.conftest import s3_url  # noqa: F401  (moto in server mode, for connectors and exports)
from tests.helpers import kept_client, make_dataset
from tests.serverproc import ADMIN_PASSWORD, Server

ADMIN_EMAIL = "admin@domolite.local"


@pytest.fixture(scope="session")
def dc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(data_dir=tmp_path_factory.mktemp("datacenter") / "data").start(timeout=180)  # a busy machine
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def dc_api(dc_server: Server) -> Iterator[httpx.Client]:
    with dc_server.client() as client:
        yield client


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = launch_chromium(p)
        yield launched
        launched.close()


def new_context(browser: Browser, dc_server: Server, **kw: Any) -> BrowserContext:
    context = browser.new_context(base_url=dc_server.url, viewport={"width": 1280, "height": 900}, **kw)
    context.set_default_timeout(30_000)
    return context


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


@pytest.fixture()
def admin_page(browser: Browser, dc_server: Server) -> Iterator[Page]:
    """A fresh browser signed in as the bootstrap admin."""
    context = new_context(browser, dc_server, accept_downloads=True)
    page = context.new_page()
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    yield page
    context.close()


def web_session(server: Server, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> httpx.Client:
    """A plain HTTP client signed in to the Data Center (its CSRF token is the `domolite_csrf` cookie)."""
    web = kept_client(server.url)
    web.get("/signin")
    signed = web.post("/signin", data={"csrf": web.cookies["domolite_csrf"], "email": email, "password": password})
    assert signed.status_code == 303 and "domolite_session" in web.cookies, signed.text
    return web


def sales(api: httpx.Client, name: str, rows: list[tuple[str, int]]) -> str:
    """A DataSet of regions and amounts, with `rows` in it; its id."""
    csv = "".join(f"{region},{amount}\n" for region, amount in rows)
    return str(make_dataset(api, [("region", "STRING"), ("amount", "LONG")], name, csv=csv)["id"])
