"""In headless Chromium, under the Content-Security-Policy: the applicant pages, the console's reply form
and the API docs work and the browser reports no violation."""

import pytest

from notifications.models import CannedReply
from tests.factories import ticket_in_state
from tickets.models import State

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def watch_violations(page):
    violations = []
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text and violations.append(message.text),
    )
    return violations


def test_applicant_pages_load_without_csp_violations(page, live_server):
    violations = watch_violations(page)
    for path in ("/", "/report/", "/status/"):
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
    assert violations == []


def test_console_canned_reply_fills_the_message_under_the_csp(desk_page, live_server, alice):
    CannedReply.objects.create(
        title="Ask for the serial", body_id="Mohon kirim nomor seri.", body_en="Send it."
    )
    ticket = ticket_in_state(State.IN_REVIEW, assigned_to=alice)
    page = desk_page
    violations = watch_violations(page)
    page.goto(live_server.url + f"/admin/login/?next=/admin/tickets/ticket/{ticket.pk}/change/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "secret-pass-123")
    with page.expect_navigation():
        page.click("input[type=submit]")
    page.select_option("#reply-canned", index=1)
    assert page.input_value("#reply-body") != ""
    assert violations == []


def test_api_docs_render_under_the_csp(desk_page, live_server, settings):
    settings.API_DOCS_PUBLIC = True
    page = desk_page
    violations = watch_violations(page)
    page.goto(live_server.url + "/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "e-Meterai" in page.inner_text(".swagger-ui .info .title")
    assert violations == []
