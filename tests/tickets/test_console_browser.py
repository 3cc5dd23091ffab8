"""In headless Chromium: an agent claims a ticket, replies and proposes a remedy; a supervisor approves it
from the approval queue."""

import pytest

from tests.browser import DESK, screenshot
from tests.factories import ticket_in_state
from tickets.models import State, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, base, username):
    page.goto(base + "/admin/login/?next=/admin/tickets/ticket/")
    page.fill("#id_username", username)
    page.fill("#id_password", "secret-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/tickets/ticket/")


def press(page, transition, **fields):
    page.click(f"#do-{transition} summary")
    for name, value in fields.items():
        page.fill(f"#{transition}-{name}", value)
    with page.expect_navigation():
        page.click(f"#do-{transition} button[type=submit]")


def test_agent_claims_replies_proposes_and_supervisor_approves(desk_page, browser, live_server, alice, sam):
    older = ticket_in_state(State.REPORTED, quota_lost=2, full_name="Siti Rahmawati")
    ticket_in_state(State.REPORTED, full_name="Budi Santoso")
    page = desk_page

    log_in(page, live_server.url, "alice")
    screenshot(page, "console-list-desk")
    with page.expect_navigation():
        page.click("#next-ticket")
    assert page.locator("#assignee").inner_text() == "alice"
    older.refresh_from_db()
    assert older.state == State.IN_REVIEW and older.assigned_to == alice

    page.select_option("#reply-canned", index=0)
    page.fill("#reply-body", "Kami sedang memeriksa riwayat pembubuhan Anda.")
    with page.expect_navigation():
        page.click("#reply-form button[type=submit]")
    assert page.locator(".thread li.out", has_text="memeriksa riwayat").count() == 1

    press(page, "propose_remedy", quantity="2", note="Riwayat menunjukkan status refund.")
    older.refresh_from_db()
    assert older.state == State.AWAITING_APPROVAL
    assert page.locator("#do-approve").count() == 0  # an agent never approves
    screenshot(page, "console-ticket-desk")

    context = browser.new_context(viewport=DESK, locale="id-ID")
    lead = context.new_page()
    log_in(lead, live_server.url, "sam")
    lead.goto(live_server.url + "/admin/dashboard/")
    with lead.expect_navigation():
        lead.click("#awaiting-approval")  # the supervisors' approval queue (refunds admin)
    lead.check(f"input[name=_selected_action][value='{older.remedies.get().pk}']")
    lead.select_option("select[name=action]", "approve_selected")
    with lead.expect_navigation():
        lead.click("button[name=index]")
    screenshot(lead, "console-approval-queue-desk")
    older = Ticket.objects.get(pk=older.pk)
    assert older.state in (State.APPROVED, State.RESOLVED)
    assert older.remedies.get().approved_by == sam
    lead.goto(live_server.url + f"/admin/tickets/ticket/{older.pk}/change/")
    assert lead.locator("#do-approve").count() == 0  # approved already: the button is gone
    lead.goto(live_server.url + "/admin/dashboard/")
    assert lead.locator("svg.chart").count() >= 5
    screenshot(lead, "console-dashboard-desk")
    context.close()
