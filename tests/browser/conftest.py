"""Browser tests: Playwright's sync API driving Debian's Chromium against pytest-django's
``live_server``.

- One browser per pytest-xdist worker (session-scoped), a fresh context (cookies, storage) per test.
- ``phone_page``: a phone-sized page (390 × 844 at 2×, touch, Thai locale), how members and
  cashiers see the site; ``desktop_page``: a 1440 × 900 page for the back office.
- ``shot(page, "step")`` saves ``test-artifacts/screenshots/<test-name>-<step>.png``.
- Every test here is marked ``browser`` and skipped, with the reason, when /usr/bin/chromium is
  missing (``make system-deps`` installs it).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.conf import settings

# Playwright's sync API runs an asyncio event loop in this thread, so Django's guard against ORM
# calls from async code would refuse the test's own database access. The tests stay synchronous;
# the guard does not apply to them.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Debian's chromium package; CHROMIUM=/path/to/chromium points elsewhere (or at nothing, to check
# that the tests skip cleanly).
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(settings.BASE_DIR) / "test-artifacts" / "screenshots"
# Generous: CI machines run the browser beside other pytest-xdist workers.
DEFAULT_TIMEOUT_MS = 30_000
HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    """Mark everything under tests/browser ``browser``; skip it all when Chromium is missing."""
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing; run `make system-deps` to install it")
    for item in items:
        if HERE not in Path(str(item.fspath)).resolve().parents:
            continue
        item.add_marker(pytest.mark.browser)
        if not CHROMIUM.exists():
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for this worker."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing; run `make system-deps` to install it")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield _WatchedBrowser(browser)
        browser.close()
    finally:
        playwright.stop()


# Every page reports what the Content-Security-Policy blocked (the browser's own console line may
# not reach Playwright; this event always fires), and the test fails on any: see
# _no_csp_violations below. Contexts made by the tests themselves (browser.new_context) are watched
# too, through _WatchedBrowser.
_REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")
    + " at " + e.sourceFile + ":" + e.lineNumber);
});
"""
_csp_violations: list[str] = []


def _watch_csp(page) -> None:
    def on_console(message):
        text = message.text
        if text.startswith("CSP violation:") or "Content Security Policy" in text:
            _csp_violations.append(f"{page.url}: {text}")

    page.on("console", on_console)


def _watched(context):
    context.add_init_script(_REPORT_CSP_VIOLATIONS)
    context.on("page", _watch_csp)
    return context


class _WatchedBrowser:
    """The browser, whose new contexts report CSP violations."""

    def __init__(self, browser):
        self._browser = browser

    def new_context(self, **options):
        return _watched(self._browser.new_context(**options))

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(autouse=True)
def _no_csp_violations(request):
    """Fail a browser test whose pages broke the Content-Security-Policy (a blocked script, style,
    image or connection)."""
    _csp_violations.clear()
    yield
    if _csp_violations and HERE in Path(str(request.node.fspath)).resolve().parents:
        found = list(_csp_violations)
        _csp_violations.clear()
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(found))


def _new_page(browser, **context_options):
    context = browser.new_context(**context_options)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    page = context.new_page()
    return context, page


@pytest.fixture
def phone_page(browser, live_server):
    """A phone: 390 × 844 CSS pixels at 2×, touch, Thai (the site's default language)."""
    context, page = _new_page(
        browser,
        base_url=live_server.url,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    yield page
    context.close()


@pytest.fixture
def desktop_page(browser, live_server):
    """A desktop browser window, in Thai."""
    context, page = _new_page(
        browser,
        base_url=live_server.url,
        viewport={"width": 1440, "height": 900},
        locale="th-TH",
        timezone_id="Asia/Bangkok",
    )
    yield page
    context.close()


def _current_test_name() -> str:
    # "tests/browser/test_admin_setup.py::test_owner_sets_up_the_shop[x] (call)"
    current = os.environ.get("PYTEST_CURRENT_TEST", "unknown")
    name = current.split("::")[-1].rsplit(" ", 1)[0]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def shot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot as test-artifacts/screenshots/<test-name>-<name>.png and return its path."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{_current_test_name()}-{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
