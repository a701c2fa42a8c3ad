"""Browser journeys: a live portal (migrated SQLite database with the demo data) and Debian's Chromium.

The server runs in a subprocess for the whole session; each test gets fresh browser contexts. Every page a
journey visits is checked with axe-core (``a11y`` fixture), which must report zero violations.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


#: base URL of each live server → its data folder (journeys that prepare rows in its database read it)
SERVER_DATA_DIRS: dict[str, str] = {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def server():
    """A live portal on 127.0.0.1 with its own data folder."""
    data_dir = tempfile.mkdtemp(prefix="portal-e2e-")
    port = _free_port()
    env = {**os.environ, "PORTAL_DATA_DIR": data_dir, "PORTAL_PORT": str(port),
           "PORTAL_SECRET_KEY": "e2e-secret", "PORTAL_BASE_URL": f"http://127.0.0.1:{port}"}
    env.pop("PORTAL_DATABASE_URL", None)
    portal = [sys.executable, "-m", "portal.cli"]
    subprocess.run([*portal, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*portal, "demo"], env=env, check=True, capture_output=True)
    log = open(Path(data_dir) / "server.log", "w")
    process = subprocess.Popen([*portal, "serve", "--port", str(port), "--quiet"], env=env, stdout=log, stderr=log)
    base_url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.1)
    else:
        process.terminate()
        raise RuntimeError("le serveur de test n'a pas démarré : " + (Path(data_dir) / "server.log").read_text())
    SERVER_DATA_DIRS[base_url] = data_dir
    yield base_url
    process.terminate()
    process.wait(timeout=10)
    log.close()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server_data_dir(server) -> str:
    """The live server's data folder (to prepare rows a journey needs in its database)."""
    return SERVER_DATA_DIRS[server]


@pytest.fixture(scope="session")
def browser() -> Browser:
    """Debian's Chromium, headless."""
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, server) -> Page:
    """A page with JavaScript, in a fresh context (no cookies)."""
    context = browser.new_context(base_url=server, locale="fr-BE")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def page_nojs(browser, server) -> Page:
    """A page with JavaScript switched off: every flow must still work."""
    context = browser.new_context(base_url=server, locale="fr-BE", java_script_enabled=False)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


class AxeChecker:
    """Runs axe-core on the current page of a JavaScript-enabled browser page."""

    def __init__(self, browser: Browser, server: str):
        self.browser = browser
        self.server = server
        self.checked: list[str] = []
        self._context = None

    def _run(self, page: Page) -> list[dict]:
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        return result["violations"]

    def __call__(self, page: Page) -> None:
        """Assert zero violations on ``page``; a JavaScript-less page is re-opened with JavaScript to be checked."""
        if page.context.pages and not self._js_enabled(page):
            violations = self._check_copy(page)
        else:
            violations = self._run(page)
        self.checked.append(page.url)
        assert not violations, "Violations axe-core sur " + page.url + " :\n" + json.dumps(
            [{"id": v["id"], "impact": v["impact"], "help": v["help"],
              "nodes": [n["target"] for n in v["nodes"]][:5]} for v in violations], ensure_ascii=False, indent=1)

    @staticmethod
    def _js_enabled(page: Page) -> bool:
        # Playwright may still evaluate in a JavaScript-less page, but the page's own scripts never ran:
        # every page loads htmx, so its absence tells that JavaScript is off.
        return page.evaluate("() => typeof window.htmx !== 'undefined'")

    def _check_copy(self, page: Page) -> list[dict]:
        # Same cookies (same session), same HTML: the server renders it; only the checker needs JavaScript.
        context = self.browser.new_context(base_url=self.server)
        context.add_cookies(page.context.cookies())
        copy = context.new_page()
        copy.goto(page.url)
        try:
            return self._run(copy)
        finally:
            context.close()


@pytest.fixture
def a11y(browser, server) -> AxeChecker:
    """``a11y(page)`` asserts zero axe-core violations on the page shown."""
    return AxeChecker(browser, server)
