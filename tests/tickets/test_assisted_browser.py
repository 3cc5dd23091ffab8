"""In headless Chromium: an agent opens a report for a caller, and completes a message-opened ticket."""

import pytest
from django.utils import timezone

from notifications.models import Direction, Message
from tests.browser import screenshot
from tests.factories import ticket_in_state
from tests.notifications.conftest import png_bytes
from tests.tickets.test_console_browser import log_in
from tickets.models import Category, State, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NIK = "3171014501900003"
SERIAL = "1A2B3C4D5E6F7G8H9J0K1L"


def _fill_stamp_failed(page, tmp_path):
    page.select_option("#id_category", "stamp_failed")
    page.fill("#id_nik", NIK)
    page.fill("#id_serial_numbers", SERIAL)
    page.fill("#id_quota_lost", "2")
    shot = tmp_path / "riwayat.png"
    shot.write_bytes(png_bytes((390, 844)))
    page.set_input_files("#id_evidence", str(shot))


def test_agent_opens_a_report_for_a_caller(desk_page, live_server, alice, tmp_path):
    page = desk_page
    log_in(page, live_server.url, "alice")
    with page.expect_navigation():
        page.click("#report-for-caller")
    page.fill("#id_full_name", "Siti Aminah")
    page.fill("#id_email", "siti@example.com")
    page.fill("#id_whatsapp", "0812 3456 7890")
    _fill_stamp_failed(page, tmp_path)
    with page.expect_navigation():
        page.click("#assisted-submit")  # no consent yet: refused, nothing stored
    assert page.locator("#form-errors").count() == 1 and not Ticket.objects.exists()
    page.set_input_files("#id_evidence", str(tmp_path / "riwayat.png"))
    page.check("#id_consent")
    with page.expect_navigation():
        page.click("#assisted-submit")
    ticket = Ticket.objects.get()
    assert ticket.reference in page.locator("h1").inner_text()
    assert (ticket.channel, ticket.category, ticket.evidence.count()) == ("phone", "stamp_failed", 1)
    assert ticket.transitions.get(name="report").actor == alice
    screenshot(page, "console-report-for-caller")


def test_agent_completes_a_message_opened_ticket(desk_page, live_server, alice, tmp_path):
    ticket = ticket_in_state(
        State.REPORTED,
        category=Category.OTHER,
        nik="",
        quota_lost=None,
        channel="whatsapp",
        consent_at=timezone.now(),
    )
    Message.objects.create(
        ticket=ticket, direction=Direction.INBOUND, channel="whatsapp", body="Kuota hilang"
    )
    page = desk_page
    log_in(page, live_server.url, "alice")
    page.goto(f"{live_server.url}/admin/tickets/ticket/{ticket.pk}/change/")
    with page.expect_navigation():
        page.click("#complete-report")
    _fill_stamp_failed(page, tmp_path)
    with page.expect_navigation():
        page.click("#assisted-submit")
    ticket.refresh_from_db()
    assert (ticket.category, ticket.nik, ticket.quota_lost) == ("stamp_failed", NIK, 2)
    assert page.locator("#complete-report").count() == 0  # a report now, no longer `other`
    assert page.locator(".thread", has_text="Kuota hilang").count() == 1
    screenshot(page, "console-completed-report")
