"""Headless Chromium (Debian's package) driven by Playwright, for the browser tests.

Use the `page` fixture (phone-sized) or `desk_page`; mark the test `@pytest.mark.browser` and use
`live_server`. Screenshots go to $SCREENSHOT_DIR (default /tmp/emeterai-screenshots) via `screenshot()`.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 900}
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR", "/tmp/emeterai-screenshots"))


@pytest.fixture(scope="session")
def browser():
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make are safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _page(browser, viewport, **options):
    context = browser.new_context(viewport=viewport, **options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    return context, page


@pytest.fixture
def page(browser):
    """A phone-sized page (390x844, touch), Indonesian first."""
    context, page = _page(browser, PHONE, is_mobile=True, has_touch=True, locale="id-ID")
    yield page
    context.close()


@pytest.fixture
def desk_page(browser):
    """A desk-sized page for the staff console."""
    context, page = _page(browser, DESK, locale="id-ID")
    yield page
    context.close()


def screenshot(page, name):
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / f"{name}.png"), full_page=True)
