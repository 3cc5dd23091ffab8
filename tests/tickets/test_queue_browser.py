"""In headless Chromium at 1366x900: the agent's default view, in Indonesian, fits the screen."""

import pytest
from django.utils import timezone

from tests.browser import screenshot
from tests.factories import ticket_in_state
from tickets.models import State

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base, username):
    page.goto(base + "/admin/login/?next=/admin/tickets/ticket/")
    page.fill("#id_username", username)
    page.fill("#id_password", "secret-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/tickets/ticket/")


def test_agent_default_view_is_the_queue_with_replies_marked(desk_page, live_server, alice, bob):
    mine = ticket_in_state(
        State.IN_REVIEW, assigned_to=alice, full_name="Siti Rahmawati", applicant_replied_at=timezone.now()
    )
    unassigned = ticket_in_state(State.REPORTED, full_name="Budi Santoso")
    bobs = ticket_in_state(State.IN_REVIEW, assigned_to=bob, full_name="Dewi Lestari")
    page = desk_page

    log_in(page, live_server.url, "alice")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert page.locator("#result_list", has_text=bobs.reference).count() == 0
    assert page.locator("#view-queue").get_attribute("aria-current") == "page"
    assert page.locator("#view-queue").inner_text() == "Antrean saya"
    assert rows.filter(has_text=mine.reference).locator(".replied").inner_text() == "Pelapor membalas"
    assert page.locator("#replies-badge").text_content() == "1 balasan pelapor"
    assert page.locator("#next-ticket").is_visible()
    # The list fits the desk screen: no horizontal scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    screenshot(page, "console-queue-desk")

    with page.expect_navigation():
        page.click(f"text={mine.reference}")
    page.goto(live_server.url + "/admin/tickets/ticket/")
    assert page.locator("#replies-badge").count() == 0
    assert page.locator(".replied").count() == 0
    with page.expect_navigation():
        page.click("#view-unassigned")
    assert page.locator("#result_list tbody tr").count() == 1
    assert page.locator("#result_list", has_text=unassigned.reference).count() == 1
