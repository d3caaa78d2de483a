"""The built book, served to a headless Chromium: shared by the build, site and screen-size tests."""

from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def book_build() -> subprocess.CompletedProcess:
    """Build the book once per session, as `make book` does (warnings are errors).

    `--all` writes every page: when no page changed, an incremental build skips the
    write step and with it the copy of `_static/`, so the site would keep stale CSS/JS.
    """
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "-W", "-n", "--keep-going", "--all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,  # a failed build is reported by the tests, with its output
    )


@pytest.fixture(scope="session")
def site(book_build) -> Path:
    if book_build.returncode != 0:
        pytest.fail("the book did not build:\n" + book_build.stdout[-4000:] + book_build.stderr[-4000:])
    return HTML


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the browser tests leave their screenshots (kept for a person to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def server(site: Path):
    """The built site over HTTP on a free local port, as a reader's browser would fetch it."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no browser download); skipped where either is missing."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class OpenPage:
    """A page of the site in the browser, with what it logged as errors and what it tried to fetch from outside."""

    page: Any
    errors: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def open_page(browser, server) -> Callable[..., contextlib.AbstractContextManager[OpenPage]]:
    """Open a page of the site (its name in the table of contents) in a window of the given width.

    `touch=True` makes the window a phone's or tablet's screen (touch events, the page's
    mobile viewport). Requests that leave the site are refused and recorded, as the site
    must work offline; JavaScript errors are recorded, so a test can require a clean console.
    """

    @contextlib.contextmanager
    def opened(name: str, width: int, height: int = 900, touch: bool = False) -> Iterator[OpenPage]:
        page = browser.new_page(
            viewport={"width": width, "height": height},
            has_touch=touch,
            is_mobile=touch,
        )
        visit = OpenPage(page)
        page.on(
            "console",
            lambda msg: visit.errors.append(msg.text) if msg.type == "error" else None,
        )
        page.on("pageerror", lambda exc: visit.errors.append(str(exc)))
        # the console's "Failed to load resource" does not say which: record the address too
        page.on("response", lambda r: visit.errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)

        def route(route) -> None:
            if route.request.url.startswith(server):
                route.continue_()
            else:
                visit.external.append(route.request.url)
                route.abort()

        page.route("**/*", route)
        page.goto(urljoin(server, f"{name}.html"), wait_until="load")
        try:
            yield visit
        finally:
            page.close()

    return opened
