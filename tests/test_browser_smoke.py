"""The browser harness itself: Debian's Chromium renders the landing page at a phone's size."""

import pytest

from tests.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_landing_page_renders_in_chromium(page, live_server):
    page.goto(live_server.url + "/")
    assert page.locator("h1").count() == 1
    screenshot(page, "landing-phone")
