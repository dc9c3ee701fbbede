"""Browser tests: Debian's chromium driven by Playwright against a real server with the demo's datasets.

They skip, saying why, where no chromium is installed, unless ``TREATY_LEDGER_REQUIRE_BROWSER=1``
(set by ``.ci/run``): then they fail. ``TREATY_LEDGER_CHROMIUM`` names another browser binary.
Screenshots of every page at desktop and phone widths go to ``build/screenshots/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.command_line import create_key, run_cli
from tests.e2e.server import Server, start_server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "build" / "screenshots"
DATASETS = sorted((ROOT / "data").glob("*.yaml"))


def chromium() -> tuple[str | None, str]:
    """The chromium binary to drive, or ``None`` and why there is none."""
    named = os.environ.get("TREATY_LEDGER_CHROMIUM")
    if named:
        found = shutil.which(named)  # a path, or a name on PATH; it must be an executable file
        return (found, "") if found else (None, f"TREATY_LEDGER_CHROMIUM={named} is not an executable file")
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found, ""
    return None, "no chromium installed (apt-get install chromium, or set TREATY_LEDGER_CHROMIUM)"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    binary, reason = chromium()
    if binary is None:
        if os.environ.get("TREATY_LEDGER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are mandatory here: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=binary, args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@dataclass
class Site:
    """The server, a writer key, and what a page did: console errors and requests that left 127.0.0.1."""

    server: Server
    key: str
    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    database = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'ledger.db'}"
    result = run_cli("import", *map(str, DATASETS), database=database)
    assert result.exit_code == 0, result.stderr
    key = create_key(database, "browser tests", "writer")
    server = start_server(database)
    try:
        yield Site(server, key)
    finally:
        server.stop()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    """A page of a fresh context whose requests may only reach 127.0.0.1 (others are aborted and noted)."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, timezone_id="UTC", locale="en-GB")
    site.errors.clear()
    site.outside.clear()

    def only_loopback(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "data:", "blob:", "about:")):
            route.continue_()
        else:
            site.outside.append(url)
            route.abort()

    context.route("**/*", only_loopback)
    opened = context.new_page()
    opened.on("console", lambda message: site.errors.append(message.text) if message.type == "error" else None)
    opened.on("pageerror", lambda error: site.errors.append(str(error)))
    yield opened
    context.close()


def screenshot(page: Any, name: str) -> None:
    """Screenshots of the page at desktop and phone widths, into ``build/screenshots/``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    has_timeline = page.locator("#timeline").count() > 0
    for label, width, height in (("desktop", 1366, 900), ("phone", 390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        if has_timeline:
            page.wait_for_selector("#timeline[data-drawn-ms]")
            page.wait_for_timeout(300)  # the timeline redraws itself after a resize: let the shot show it
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=label == "phone")
    page.set_viewport_size({"width": 1366, "height": 900})
