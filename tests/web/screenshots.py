"""Draws the README's screenshots of the Data Center: a fresh server with a little data, its main pages in
Chromium at 1280 px (and one at phone width), saved as small PNGs.

    .venv/bin/python -m tests.web.screenshots docs/img
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser import launch_chromium
from tests.serverproc import ADMIN_PASSWORD, Server
from tests.web.conftest import ADMIN_EMAIL, sales, sign_in


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(data_dir=Path(tmp) / "data").start(timeout=180)
        try:
            with server.client() as api:
                regions = ("east", "west", "north", "south")
                first = sales(api, "Sales by region", [(regions[i % 4], i * 7 % 101) for i in range(240)])
                for name in ("Inventory", "Customers", "Web traffic", "Support tickets"):
                    sales(api, name, [(regions[i % 4], i) for i in range(12)])
            with sync_playwright() as p:
                browser = launch_chromium(p)
                page = browser.new_page(base_url=server.url, viewport={"width": 1280, "height": 720})
                sign_in(page, ADMIN_EMAIL, ADMIN_PASSWORD)
                shots = [
                    ("/", "datasets.png"),
                    (f"/datasources/{first}/details/data?sort=amount&dir=desc", "preview.png"),
                    (f"/sql?dataset={first}", "sql.png"),
                    ("/upload", "upload.png"),
                    ("/connectors/new", "connector.png"),
                ]
                for path, name in shots:
                    page.goto(path)
                    if name == "sql.png":
                        sql = "SELECT region, COUNT(*) AS n, SUM(amount) AS total FROM table GROUP BY region"
                        page.get_by_label("Query").fill(sql + " ORDER BY total DESC")
                        page.get_by_role("button", name="Run").click()
                    page.screenshot(path=str(out / name), full_page=name == "connector.png")
                page.set_viewport_size({"width": 390, "height": 780})
                page.goto(f"/datasources/{first}/details/overview")
                page.screenshot(path=str(out / "phone.png"))
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img"))
