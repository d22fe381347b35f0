"""Upload from the browser: a 100,000-row CSV file, its detected schema edited, sent through the Stream API in
parallel parts with a progress bar that reaches 100%; then rows appended to the same DataSet."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.serverproc import Server

ROWS = 100_000
# Keeps every text the percent shows, in order, from before the upload starts.
SEEN_PERCENTS = """() => {
  window.seenPercents = [];
  const percent = document.getElementById("upload-percent");
  new MutationObserver(() => window.seenPercents.push(percent.textContent)).observe(
    percent, {childList: true, characterData: true, subtree: true});
}"""


def test_upload_a_100k_row_csv_through_the_stream_api(
    admin_page: Page, dc_server: Server, dc_api: httpx.Client, tmp_path: Path
) -> None:
    page = admin_page
    name = f"Orders {uuid.uuid4().hex[:6]}"
    big = tmp_path / "orders.csv"
    with big.open("w", encoding="utf-8", newline="") as f:
        f.write("order id,customer,amount,day\n")
        for i in range(ROWS):
            note = f'"Smith, ""J"" {i}"' if i % 1000 == 0 else f"customer {i % 97}"  # quotes and commas inside
            f.write(f"{i},{note},{i % 500}.25,2026-{1 + i % 12:02d}-{1 + i % 28:02d}\n")
    assert big.stat().st_size > 2_000_000  # several parts

    page.get_by_role("link", name="Upload").click()
    page.get_by_label("A new DataSet").check()
    page.get_by_label("CSV file").set_input_files(str(big))
    schema = page.get_by_role("table", name="Detected schema")
    expect(schema.locator("tbody tr")).to_have_count(4)
    expect(page.get_by_label("Type of column 1")).to_have_value("LONG")
    expect(page.get_by_label("Type of column 2")).to_have_value("STRING")
    expect(page.get_by_label("Type of column 3")).to_have_value("DOUBLE")
    expect(page.get_by_label("Type of column 4")).to_have_value("DATE")
    page.get_by_label("Name of column 1").fill("order_id")  # the schema is editable
    page.get_by_label("Name of the new DataSet").fill(name)

    parts: list[str] = []
    page.on("request", lambda r: parts.append(r.url) if "/part/" in r.url and r.method == "PUT" else None)
    page.evaluate(SEEN_PERCENTS)
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("#upload-percent")).to_have_text("100%", timeout=120_000)
    expect(page.get_by_role("status")).to_contain_text("SUCCESS")
    assert len(parts) >= 4 and all(re.search(r"/v1/streams/\d+/executions/\d+/part/\d+$", u) for u in parts)
    seen = [int(p.rstrip("%")) for p in page.evaluate("window.seenPercents")]
    assert seen == sorted(seen) and seen[-1] == 100, seen  # the bar only moves forward, and ends full
    assert any(0 < p < 100 for p in seen), seen  # and it moved part by part on the way
    assert page.locator("#upload-progress").evaluate("bar => bar.value") == 100

    page.get_by_role("link", name="See the rows").click()
    preview = page.get_by_role("table", name="Data preview")
    expect(preview.locator("tbody tr")).to_have_count(50)
    expect(page.get_by_text("Rows 1 to 50 of 100,000.")).to_be_visible()
    page.get_by_role("link", name="order_id").click()
    page.get_by_role("link", name="order_id ▲").click()  # descending: the last rows of the file first
    expect(preview.locator("tbody tr").first).to_have_text(re.compile(r"^99999\s*customer 89\s*499.25\s*2026-04-12$"))
    expect(preview.locator("tbody tr").nth(1)).to_have_text(re.compile(r"^99998\s*customer 88\s*498.25\s*2026-03-11$"))
    found = dc_api.get("/v1/datasets", params={"nameLike": name}).json()
    assert [d["rows"] for d in found] == [ROWS]
    dataset_id = found[0]["id"]
    columns = dc_api.get(f"/v1/datasets/{dataset_id}").json()["schema"]["columns"]
    assert [(c["name"], c["type"]) for c in columns] == [
        ("order_id", "LONG"),
        ("customer", "STRING"),
        ("amount", "DOUBLE"),
        ("day", "DATE"),
    ]
    q = dc_api.post(
        f"/v1/datasets/query/execute/{dataset_id}",
        json={"sql": "SELECT COUNT(DISTINCT order_id), SUM(amount), MAX(customer) FROM table WHERE order_id = 99000"},
    ).json()
    assert q["rows"] == [[1, 0.25, 'Smith, "J" 99000']]

    # APPEND a small file into the same DataSet from its page
    small = tmp_path / "more.csv"
    small.write_text("order id,customer,amount,day\n100000,late,1.5,2026-12-01\n100001,later,2.5,2026-12-02\n")
    page.goto(f"/upload?dataset={dataset_id}")
    expect(page.get_by_label("An existing DataSet")).to_be_checked()
    page.get_by_label("Update method").select_option("APPEND")
    page.get_by_label("CSV file").set_input_files(str(small))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("status")).to_contain_text("SUCCESS")
    assert dc_api.get(f"/v1/datasets/{dataset_id}").json()["rows"] == ROWS + 2
