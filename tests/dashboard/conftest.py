"""A real headless browser (Debian's chromium, driven by Playwright) on the daemon's dashboard.

Playwright drives the system's /usr/bin/chromium (no browser download). Root runs it here, so it
needs --no-sandbox. Each test gets a fresh browser context (no cookies shared between pages of
different users), and every page's console errors and uncaught exceptions fail the test (a
Content-Security-Policy violation shows up there too).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from peers import require

CHROMIUM = "/usr/bin/chromium"


@dataclass
class DashboardPage:
    page: Any
    url: str
    shots: Path
    problems: list[str] = field(default_factory=list)
    expected_statuses: set[int] = field(default_factory=set)  # error answers the test provokes

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def csrf_fetch(self, method: str, path: str) -> dict[str, Any]:
        """A request made by the page itself, with its own CSRF token (what a forged button
        press would send)."""
        result: dict[str, Any] = self.page.evaluate(
            """async ([method, path]) => {
                const me = await (await fetch('/ui/session')).json();
                const r = await fetch(path, {method, headers: {'X-CSRF-Token': me.csrf}});
                return {status: r.status, body: await r.json()};
            }""",
            [method, path],
        )
        return result


# Per module: the sync Playwright driver owns an event loop while it runs, which must be gone
# before the asyncio tests of other directories start.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    require(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing (Debian package chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "the playwright package is missing (test extra)")
        raise
    with sync_playwright() as p:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = p.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        yield browser
        browser.close()


def dashboard_url(daemon: Any, uid: int | None = None) -> str:
    result = daemon.cli("dashboard", "--json", uid=uid)
    assert result.returncode == 0, result.stderr + result.stdout
    url: str = json.loads(result.stdout)["url"]
    return url


@pytest.fixture
def open_dashboard(chromium: Any, tmp_path: Path) -> Iterator[Callable[..., DashboardPage]]:
    contexts: list[Any] = []
    pages: list[DashboardPage] = []
    shots = tmp_path / "screenshots"
    shots.mkdir()

    def open_(daemon: Any, uid: int | None = None, locale: str = "en-US") -> DashboardPage:
        context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
        contexts.append(context)
        page = context.new_page()
        url = dashboard_url(daemon, uid)
        dash = DashboardPage(page, url, shots)
        page.on(
            "console",
            lambda m: dash.problems.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: dash.problems.append(str(e)))
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=20_000)
        pages.append(dash)
        return dash

    yield open_
    for context in contexts:
        context.close()
    # Kept for CI artifacts under the test's temporary directory.
    print(f"dashboard screenshots: {shots}")
    for dash in pages:
        # A refusal the test provokes (a forged hang-up's 403) is logged by chromium as a failed
        # load; anything else (an exception, a CSP violation, an unexpected error answer) fails.
        expected = tuple(f"status of {n} " for n in dash.expected_statuses)
        real = [p for p in dash.problems if not (expected and any(e in p for e in expected))]
        assert not real, real
