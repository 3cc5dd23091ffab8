"""In headless Chromium: an agent answers with a macro (a canned reply that also asks for information)."""

import pytest

from notifications.models import CannedReply
from tests.browser import screenshot
from tests.factories import ticket_in_state
from tickets.models import State, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_sends_the_ask_for_serial_macro(desk_page, live_server, alice):
    macro = CannedReply.objects.create(
        title="Minta nomor seri",
        transition="request_info",
        body_id="Halo {name}, mohon kirimkan nomor seri e-Meterai yang gagal.",
        body_en="Hello {name}, please send the serial number.",
    )
    ticket = ticket_in_state(State.IN_REVIEW, assigned_to=alice, full_name="Siti Rahmawati")
    page = desk_page
    page.goto(live_server.url + f"/admin/login/?next=/admin/tickets/ticket/{ticket.pk}/change/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "secret-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"**/admin/tickets/ticket/{ticket.pk}/change/")

    page.select_option("#reply-canned", str(macro.pk))
    assert "Halo Siti Rahmawati" in page.input_value("#reply-body")  # the macro's text, to read or edit
    assert "→" in page.locator(f"#reply-canned option[value='{macro.pk}']").inner_text()
    with page.expect_navigation():
        page.click("#reply-form button[type=submit]")

    assert Ticket.objects.get(pk=ticket.pk).state == State.AWAITING_INFO
    assert page.locator(".messagelist").inner_text().count("Menunggu data pelapor") == 1
    assert page.locator(".thread li.out", has_text="mohon kirimkan nomor seri").count() >= 1
    screenshot(page, "console-macro-desk")
