"""Who sees what from the Data Center: users and developer tokens made on the Admin page, a PDP policy and a
share made on a DataSet's pages, the shared user's view honouring PDP, an older data version, revoking, deleting
with confirmation, and the page at phone width."""

from __future__ import annotations

import re
import uuid

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.serverproc import Server
from tests.web.conftest import new_context, sales, sign_in


def test_share_with_a_user_whose_view_honours_pdp(
    admin_page: Page, browser: Browser, dc_server: Server, dc_api: httpx.Client
) -> None:
    page = admin_page
    tag = uuid.uuid4().hex[:6]
    email, password = f"pat-{tag}@example.com", f"pat-password-{tag}"

    # Admin: a user with a password, and a developer token shown once, then revoked
    page.get_by_role("link", name="Admin").click()
    page.get_by_label("Name", exact=True).first.fill(f"Pat {tag}")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status")).to_have_text(f"User {email} created.")
    page.get_by_label("New token's name").fill(f"ci {tag}")
    page.get_by_role("button", name="Create developer token").click()
    token = page.locator("#new-token").inner_text().strip()
    assert httpx.get(dc_server.url + "/v1/datasets", headers={"x-domo-developer-token": token}).status_code == 200
    page.goto("/admin")
    expect(page.locator("#new-token")).to_have_count(0)  # shown once
    assert token not in page.content()
    page.get_by_role("button", name=f"Revoke token ci {tag}").click()
    expect(page.get_by_role("status")).to_have_text("Developer token revoked.")
    assert httpx.get(dc_server.url + "/v1/datasets", headers={"x-domo-developer-token": token}).status_code == 401

    # a DataSet with two data versions: three rows, then two appended
    name = f"Regions {tag}"
    dataset_id = sales(dc_api, name, [("east", 1), ("west", 2), ("east", 3)])
    more = dc_api.put(
        f"/v1/datasets/{dataset_id}/data?updateMethod=APPEND",
        content=b"west,4\neast,5\n",
        headers={"Content-Type": "text/csv"},
    )
    assert more.status_code == 204, more.text

    # PDP: a policy for Pat (east rows only), PDP on; then share with Pat
    page.goto(f"/datasources/{dataset_id}/details/pdp")
    page.get_by_label("Policy name").fill("east only")
    page.get_by_label("Column").select_option("region")
    page.get_by_label("Operator").select_option("EQUALS")
    page.get_by_label("Values").fill("east")
    page.get_by_label("Users").select_option(label=f"Pat {tag} ({email})")
    page.get_by_role("button", name="Create policy").click()
    expect(page.get_by_role("status")).to_have_text("Policy 'east only' created.")
    page.get_by_role("button", name="Turn PDP on").click()
    expect(page.get_by_role("status")).to_have_text("PDP is on.")
    expect(page.get_by_role("table", name="Policies")).to_contain_text(re.compile(r"region EQUALS east"))
    page.get_by_role("link", name="Permissions").click()
    page.get_by_label("User or group").select_option(label=f"Pat {tag} ({email})")
    page.get_by_label("Access level").select_option("READ")
    page.get_by_role("button", name="Share").click()
    expect(page.get_by_role("table", name="Who has access")).to_contain_text(f"Pat {tag}")

    # Pat's own browser: the DataSet with Pat's rows only, everywhere
    pat = new_context(browser, dc_server)
    pat_page = pat.new_page()
    sign_in(pat_page, email, password)
    pat_page.get_by_label("Search by name").fill(name)
    pat_page.get_by_role("button", name="Search").click()
    listing = pat_page.get_by_role("table", name="DataSets")
    expect(listing.get_by_role("row").nth(1)).to_contain_text("3")  # east rows: 1, 3, 5
    listing.get_by_role("link", name=name).click()
    pat_page.get_by_role("link", name="Data", exact=True).click()
    preview = pat_page.get_by_role("table", name="Data preview")
    expect(preview.locator("tbody tr")).to_have_count(3)
    expect(preview).not_to_contain_text("west")
    pat_page.get_by_role("link", name="Query it with SQL").click()
    pat_page.get_by_label("Query").fill("SELECT region, COUNT(*) AS n FROM table GROUP BY region")
    pat_page.get_by_role("button", name="Run").click()
    expect(pat_page.get_by_role("table", name=re.compile("Results")).locator("tbody tr")).to_have_text(
        [re.compile(r"east\s*3")]
    )

    # History (admin): the older version as it was
    page.goto(f"/datasources/{dataset_id}/details/history")
    versions = page.get_by_role("table", name="Data versions").locator("tbody tr")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("APPEND")
    versions.nth(1).get_by_role("link").click()
    expect(page.get_by_role("status")).to_contain_text("as the DataSet was then")
    then = page.get_by_role("table", name="Data preview").locator("tbody tr")
    expect(then).to_have_count(3)
    page.get_by_role("link", name="amount").click()  # sorted, still at that version
    expect(page.get_by_role("status")).to_contain_text("as the DataSet was then")
    expect(then).to_have_text([re.compile(r"^east\s*1$"), re.compile(r"^west\s*2$"), re.compile(r"^east\s*3$")])
    page.get_by_role("link", name="Back to the current data").click()
    expect(page.get_by_role("table", name="Data preview").locator("tbody tr")).to_have_count(5)

    # Partitions: a tagged upload's row count is the admin's to see; Pat, filtered by PDP, sees none (as the API)
    uploads = f"/api/data/v3/datasources/{dataset_id}/uploads"
    upload = dc_api.post(uploads, json={"action": None, "appendId": None}).json()["uploadId"]
    part = dc_api.put(f"{uploads}/{upload}/parts/1", content=b"east,6\nwest,7\n", headers={"Content-Type": "text/csv"})
    assert part.status_code == 200, part.text
    committed = dc_api.put(f"{uploads}/{upload}/commit", json={"action": "APPEND", "dataTag": "p1"})
    assert committed.status_code == 200, committed.text
    page.goto(f"/datasources/{dataset_id}/details/partitions")
    cells = page.get_by_role("table", name="Partitions").locator("tbody tr td")
    expect(cells.nth(0)).to_have_text("p1")
    expect(cells.nth(2)).to_have_text("2")
    pat_page.goto(f"/datasources/{dataset_id}/details/partitions")
    pat_cells = pat_page.get_by_role("table", name="Partitions").locator("tbody tr td")
    expect(pat_cells.nth(0)).to_have_text("p1")
    expect(pat_cells.nth(2)).to_have_text("—")  # of the 2 rows, 1 is Pat's: no count tells more than that

    # revoke: Pat no longer reaches it
    page.get_by_role("link", name="Permissions").click()
    page.get_by_role("button", name=f"Revoke Pat {tag}").click()
    expect(page.get_by_role("status")).to_have_text("Access revoked.")
    pat_page.goto(f"/datasources/{dataset_id}/details/data")
    expect(pat_page.get_by_role("heading", name="Not available")).to_be_visible()
    pat_page.goto("/")
    expect(pat_page.get_by_role("table", name="DataSets")).not_to_contain_text(name)
    pat.close()

    # phone width: the page fits, nothing scrolls sideways but the tables' own boxes
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(f"/datasources/{dataset_id}/details/data")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})

    # delete, with confirmation
    page.goto(f"/datasources/{dataset_id}/details/delete")
    page.get_by_label(re.compile("Type the DataSet's name")).fill("not its name")
    page.get_by_role("button", name="Delete the DataSet").click()
    expect(page.get_by_role("alert")).to_contain_text("type the DataSet's name exactly")
    assert dc_api.get(f"/v1/datasets/{dataset_id}").status_code == 200
    page.get_by_label(re.compile("Type the DataSet's name")).fill(name)
    page.get_by_role("button", name="Delete the DataSet").click()
    expect(page.get_by_role("status")).to_have_text(f"DataSet {name!r} deleted.")
    assert dc_api.get(f"/v1/datasets/{dataset_id}").status_code == 404


def test_saving_a_policy_from_its_form_unchanged_keeps_it_as_it_was(admin_page: Page, dc_api: httpx.Client) -> None:
    page = admin_page
    dataset_id = sales(dc_api, f"Kept policies {uuid.uuid4().hex[:6]}", [("west", 1), ("east", 2)])
    me = dc_api.get("/v1/users", params={"limit": 1}).json()[0]["id"]

    def policy(name: str, filters: list[dict[str, object]]) -> dict[str, object]:
        made = dc_api.post(
            f"/v1/datasets/{dataset_id}/policies", json={"name": name, "filters": filters, "users": [me]}
        )
        assert made.status_code == 201, made.text
        return dict(made.json())

    comma = {"column": "region", "values": ["Smith, John", "east"], "operator": "EQUALS"}
    two = policy("two filters", [comma, {"column": "amount", "values": ["1"], "operator": "GREATER_THAN"}])
    one = policy("a comma value", [comma])
    for made in (two, one):
        page.goto(f"/datasources/{dataset_id}/details/pdp?edit={made['id']}")
        page.get_by_role("button", name="Save policy").click()
        expect(page.get_by_role("status")).to_have_text(f"Policy '{made['name']}' saved.")
        after = dc_api.get(f"/v1/datasets/{dataset_id}/policies/{made['id']}").json()
        assert after["filters"] == made["filters"], (made["name"], after["filters"])


def test_numbers_past_64_bits_and_fields_the_models_refuse_are_messages_on_the_page(
    admin_page: Page, dc_api: httpx.Client
) -> None:
    page = admin_page
    huge = "99999999999999999999999"
    answer = page.goto(f"/?page={huge}")  # the first page, as for any page number that is not one
    assert answer is not None and answer.status == 200
    expect(page.get_by_role("table", name="DataSets")).to_be_visible()
    for path in (f"/connectors/{huge}", "/connectors/abc", f"/connectors/{huge}/edit"):
        answer = page.goto(path)
        assert answer is not None and answer.status == 400, path
        expect(page.get_by_role("heading", name="Not available")).to_be_visible()  # a page, not JSON
    # a form sent with an id past 64 bits: a notice, and nothing changes
    dataset_id = sales(dc_api, f"Huge ids {uuid.uuid4().hex[:6]}", [("east", 1)])
    page.goto(f"/datasources/{dataset_id}/details/permissions")
    page.locator("select[name=grantee]").evaluate(f"s => s.options[0].value = 'user:{huge}'")
    page.locator("select[name=grantee]").select_option(index=0)
    page.get_by_role("button", name="Share").click()
    expect(page.get_by_role("alert")).to_contain_text("choose a user or a group")


def test_an_account_in_a_region_the_form_does_not_list_keeps_it_when_saved(
    admin_page: Page, dc_api: httpx.Client
) -> None:
    config = {"domoClientId": "c", "domoClientSecret": "s", "accessKey": "AKIAEXAMPLE", "secretKey": "secret",
              "bucket": "far-bucket", "region": "eu-south-1"}  # fmt: skip
    body = {"displayName": "far away", "name": "far away", "dataProviderType": "amazon-s3-unload-writeback",
            "configurations": config}  # fmt: skip
    made = dc_api.post("/api/data/v1/accounts", json=body)
    assert made.status_code == 200, made.text
    page = admin_page
    page.goto(f"/accounts?edit={made.json()['id']}")
    page.get_by_label("Account name").fill("far away, renamed")
    page.get_by_role("button", name="Save account").click()
    expect(page.get_by_role("status")).to_contain_text("saved")
    kept = dc_api.get(f"/api/data/v1/accounts/{made.json()['id']}").json()
    assert kept["displayName"] == "far away, renamed" and kept["configurations"]["region"] == "eu-south-1"
