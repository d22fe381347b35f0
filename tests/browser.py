"""The one way tests start a browser: Playwright driving Debian's Chromium (`./dev test` installs it with apt-get;
Playwright's own browser download needs the internet)."""

from __future__ import annotations

import shutil

from playwright.sync_api import Browser, Playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def launch_chromium(playwright: Playwright) -> Browser:
    executable = shutil.which("chromium")
    assert executable, "Chromium is missing: `./dev test` installs it with apt-get"
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
