"""The Data Center's first pages in a real browser: sign in and out, find a DataSet, preview its rows (paging and
sorting), run SQL and download the result; and, over plain HTTP, the session cookie's flags and CSRF."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect

from tests.serverproc import ADMIN_PASSWORD, Server
from tests.web.conftest import ADMIN_EMAIL, new_context, sales, sign_in


def test_sign_in_find_preview_sql_and_download(browser: Browser, dc_server: Server, dc_api: httpx.Client) -> None:
    tag = uuid.uuid4().hex[:6]
    rows = [(("east", "west", "north")[i % 3], i) for i in range(120)]
    sales(dc_api, f"Sales {tag}", rows)
    sales(dc_api, f"Inventory {tag}", [("east", 1)])

    context = new_context(browser, dc_server, accept_downloads=True)
    page = context.new_page()
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/signin\?next=/$"))  # a page needs a session
    page.get_by_label("E-mail").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong e-mail or password.")
    sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
    cookie = next(c for c in context.cookies() if c["name"] == "domolite_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    # find it by search
    page.get_by_label("Search by name").fill(f"sales {tag}")
    page.get_by_role("button", name="Search").click()
    table = page.get_by_role("table", name="DataSets")
    expect(table.get_by_role("row")).to_have_count(2)  # the heading and one DataSet
    expect(table).to_contain_text(f"Sales {tag}")
    expect(table).not_to_contain_text(f"Inventory {tag}")
    expect(table.get_by_role("row").nth(1)).to_contain_text("120")

    # preview: 50 rows a page, sorting by a column heading
    table.get_by_role("link", name=f"Sales {tag}").click()
    expect(page.locator("#row-count")).to_have_text("120")
    page.get_by_role("link", name="Data", exact=True).click()
    preview = page.get_by_role("table", name="Data preview")
    expect(preview.locator("tbody tr")).to_have_count(50)
    page.get_by_role("link", name="amount").click()
    page.get_by_role("link", name="amount ▲").click()  # again: descending
    expect(preview.locator("tbody tr").first).to_have_text(re.compile(r"north\s*119"))
    page.get_by_role("link", name="Next page").click()
    page.get_by_role("link", name="Next page").click()
    expect(preview.locator("tbody tr")).to_have_count(20)
    expect(preview.locator("tbody tr").last).to_have_text(re.compile(r"east\s*0$"))

    # SQL with a results table and the CSV download of the result
    page.get_by_role("link", name="Query it with SQL").click()
    sql = "SELECT region, SUM(amount) AS total FROM table GROUP BY region ORDER BY region"
    page.get_by_label("Query").fill(sql)
    page.get_by_role("button", name="Run").click()
    results = page.get_by_role("table", name=re.compile("Results"))
    expect(results.locator("tbody tr")).to_have_count(3)
    expect(results.locator("tbody tr").first).to_have_text(re.compile(r"east\s*2340"))
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text == "region,total\neast,2340\nnorth,2420\nwest,2380\n"

    # bad SQL is shown, not a crash
    page.get_by_label("Query").fill("DELETE FROM table")
    page.get_by_role("button", name="Run").click()
    expect(page.get_by_role("alert")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.goto("/sql")
    expect(page).to_have_url(re.compile(r"/signin\?next=/sql$"))
    context.close()


def test_a_form_without_its_csrf_token_changes_nothing(dc_server: Server, dc_api: httpx.Client) -> None:
    dataset_id = sales(dc_api, f"Guarded {uuid.uuid4().hex[:6]}", [("east", 1)])
    with httpx.Client(base_url=dc_server.url) as web:
        signin = web.get("/signin")
        token = re.search(r'name="csrf" value="([^"]+)"', signin.text).group(1)  # type: ignore[union-attr]
        cookie = signin.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        # no CSRF token, even with the right password: refused
        refused = web.post("/signin", data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert refused.status_code == 303 and "domolite_session" not in refused.headers.get("set-cookie", "")
        signed = web.post("/signin", data={"csrf": token, "email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert signed.status_code == 303 and "domolite_session=" in signed.headers["set-cookie"]
        assert "HttpOnly" in signed.headers["set-cookie"] and "SameSite=lax" in signed.headers["set-cookie"]
        # a signed-in browser whose form lacks the token (another site's form) deletes nothing
        forged = web.post(f"/datasources/{dataset_id}/delete", data={"confirm_name": "whatever"})
        assert forged.status_code == 303
        assert dc_api.get(f"/v1/datasets/{dataset_id}").status_code == 200
        wrong = web.post(f"/datasources/{dataset_id}/delete", data={"csrf": "x" * 43, "confirm_name": "Guarded"})
        assert wrong.status_code == 303
        assert dc_api.get(f"/v1/datasets/{dataset_id}").status_code == 200
        page = web.get(f"/datasources/{dataset_id}/details/delete")
        assert "the form is out of date or came from another site" in page.text
