"""In headless Chromium at phone size: a closed ticket's applicant rates the help from the status page."""

import pytest

from notifications.models import SatisfactionSurvey
from tests.browser import screenshot
from tests.factories import ticket_in_state
from tickets import roles, services
from tickets.models import State

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_applicant_rates_from_the_status_page_link_and_adds_a_comment(page, live_server, settings):
    settings.REMEDIES_PAUSED = True
    ticket = services.fire("confirm", ticket=ticket_in_state(State.RESOLVED), actor=roles.APPLICANT)
    page.goto(live_server.url + f"/status/{ticket.reference}/?token={ticket.tracking_token}")
    assert page.locator("#csat h2").inner_text() == "Seberapa puas Anda dengan bantuan kami?"
    screenshot(page, "csat-status-phone")

    with page.expect_navigation():
        page.click("#csat-4")
    assert "Nilai Anda: 4 dari 5" in page.locator("#csat-thanks").inner_text()
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    assert survey.rating == 4

    page.fill("#id_comment", "Cepat dan jelas, terima kasih.")
    with page.expect_navigation():
        page.click("#csat-form button[type=submit]")
    survey.refresh_from_db()
    assert (survey.rating, survey.comment) == (4, "Cepat dan jelas, terima kasih.")
    screenshot(page, "csat-rated-phone")
