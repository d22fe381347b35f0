"""The Data Center for keyboard users, screen readers and phones: a whole task done with Tab, typing and Enter
only, every stop showing where the focus is; every form control, link and table of the main pages named; and no
main page wider than a phone's screen."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.export.writeback import make_account, make_connector
from tests.serverproc import ADMIN_PASSWORD, Server
from tests.web.conftest import ADMIN_EMAIL, new_context, sales, sign_in

# What a focused element shows: its outline (the stylesheet's :focus-visible), and what it is called.
FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const label = [...(el.labels || [])].map(l => l.textContent).join(" ");
  return {
    name: (el.getAttribute("aria-label") || label || el.textContent || el.value || "").trim().replace(/\\s+/g, " "),
    tag: el.tagName.toLowerCase(),
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2,
  };
}"""

# Every control, link and table of the page that has no accessible name (a label, aria-label(ledby), its text).
UNNAMED = """() => {
  const named = el => {
    const by = (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean)
      .map(id => (document.getElementById(id) || {}).textContent || "").join(" ");
    const labels = [...(el.labels || [])].map(l => l.textContent).join(" ");
    const own = el.matches("button, a") ? el.textContent : "";
    const caption = el.matches("table") && el.caption ? el.caption.textContent : "";
    return (el.getAttribute("aria-label") || by || labels || own || caption || el.getAttribute("title") || "").trim();
  };
  const controls = "input:not([type=hidden]), select, textarea, button, a[href], table";
  return [...document.querySelectorAll(controls)].filter(el => !named(el)).map(el => el.outerHTML.slice(0, 160));
}"""


@dataclass
class Place:
    dataset_id: str
    dataset_name: str
    stream_id: int

    def main_pages(self) -> list[str]:
        d = f"/datasources/{self.dataset_id}/details"
        tabs = ["overview", "data", "history", "partitions", "permissions", "pdp", "export", "delete"]
        return (
            ["/", "/sql", "/upload", "/accounts", "/connectors", "/connectors/new", "/admin"]
            + [f"{d}/{t}" for t in tabs]
            + [f"/sql?dataset={self.dataset_id}", f"/connectors/{self.stream_id}", f"/connectors/{self.stream_id}/edit"]
        )


@pytest.fixture(scope="module")
def place(dc_server: Server, dc_api: httpx.Client, s3_url: str) -> Iterator[Place]:
    tag = uuid.uuid4().hex[:6]
    name = f"Keyboard sales {tag}"
    dataset_id = sales(dc_api, name, [(("east", "west")[i % 2], i) for i in range(60)])
    account = make_account(dc_api, s3_url, f"kb-{tag}", dc_server.client_id, dc_server.client_secret)
    stream_id, _writeback = make_connector(dc_api, account, dataset_id, path=f"kb/{tag}")
    yield Place(dataset_id, name, stream_id)


def tab_to(page: Page, name: str | re.Pattern[str], *, most: int = 80, back: bool = False) -> None:
    """Press Tab (Shift+Tab with `back`) until the focus is on the element called `name`; every stop on the way
    must show the focus."""
    for _ in range(most):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        assert focused["outline"], f"no visible focus on {focused} at {page.url}"
        if name.search(focused["name"]) if isinstance(name, re.Pattern) else focused["name"] == name:
            return
    raise AssertionError(f"Tab never reached {name!r} on {page.url}")


def enter(page: Page) -> None:
    """Press Enter on what has the focus, which opens a page (a link, or a form's submit)."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_sign_in_open_a_dataset_preview_and_run_sql_by_keyboard_only(
    browser: Browser, dc_server: Server, place: Place
) -> None:
    context = new_context(browser, dc_server)
    page = context.new_page()
    page.goto("/")
    assert page.evaluate(FOCUSED)["name"] == "E-mail"  # the sign-in page starts there
    page.keyboard.type(ADMIN_EMAIL)
    tab_to(page, "Password")
    page.keyboard.type(ADMIN_PASSWORD)
    enter(page)
    expect(page.get_by_role("heading", name="DataSets")).to_be_visible()

    tab_to(page, "Skip to content", most=1)  # the first stop of every page
    tab_to(page, "Search by name")
    page.keyboard.type(place.dataset_name)
    enter(page)
    expect(page.get_by_role("table", name="DataSets").get_by_role("row")).to_have_count(2)
    tab_to(page, place.dataset_name)
    enter(page)
    expect(page.get_by_role("heading", name=place.dataset_name)).to_be_visible()
    expect(page.locator("#row-count")).to_have_text("60")

    tab_to(page, "Data")
    enter(page)
    preview = page.get_by_role("table", name="Data preview")
    expect(preview.locator("tbody tr")).to_have_count(50)
    tab_to(page, "amount")  # sort by a column heading
    enter(page)
    tab_to(page, "amount ▲")
    enter(page)
    expect(preview.locator("tbody tr").first).to_have_text(re.compile(r"west\s*59"))

    tab_to(page, "Query it with SQL")
    enter(page)
    expect(page.get_by_label("DataSet", exact=True)).to_have_value(place.dataset_id)
    tab_to(page, re.compile(r"^Query"))
    page.keyboard.press("Control+A")
    page.keyboard.type("SELECT region, COUNT(*) AS n FROM table GROUP BY region ORDER BY region")
    tab_to(page, "Run")
    enter(page)
    results = page.get_by_role("table", name=re.compile("Results"))
    expect(results.locator("tbody tr")).to_have_text([re.compile(r"east\s*30"), re.compile(r"west\s*30")])

    tab_to(page, "Sign out", back=True)
    enter(page)
    expect(page).to_have_url(re.compile(r"/signin$"))
    context.close()


def test_every_control_link_and_table_of_the_main_pages_is_named(admin_page: Page, place: Place) -> None:
    unnamed: dict[str, list[str]] = {}
    for path in ["/signin?next=/", *place.main_pages()]:
        admin_page.goto(path)
        missing = admin_page.evaluate(UNNAMED)
        if missing:
            unnamed[path] = missing
    assert unnamed == {}


def test_no_main_page_is_wider_than_a_phone(browser: Browser, dc_server: Server, place: Place) -> None:
    context = new_context(browser, dc_server)
    page = context.new_page()
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    page.set_viewport_size({"width": 375, "height": 740})
    wide: dict[str, int] = {}
    for path in place.main_pages():
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 375:
            wide[path] = width
    assert wide == {}
    # and at 1280 px the list is a table with its headings shown, not the stacked phone form
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/")
    expect(page.get_by_role("columnheader", name="Sort by Owner")).to_be_visible()
    context.close()
