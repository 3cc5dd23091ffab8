"""In headless Chromium: a supervisor declares an incident, watches reports link and verify on its page,
sends the notice and approves the confirmed proposals; an applicant sees the notice on the form.

Verification, the notice and the bulk approval run in-process (eager), against loaded platform records."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone, translation

from incidents.models import Incident
from notifications.models import Message
from tests.browser import screenshot
from tests.tickets.intake_helpers import SERIAL, image_bytes
from tests.tickets.report_browser import next_step, what_happened, your_data
from tests.verification.conftest import ACCOUNT, serial, stamp_ticket
from tickets.models import State, Ticket
from verification import services as verification
from verification.models import Outcome, PlatformStamping
from verification.sources import ExportRecords

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLE = "Gangguan server meterai CASN"
NOTICE_ID = "Server meterai sedang gangguan. Kuota yang terpakai akan dikembalikan otomatis."
NOTICE_EN = "The stamping server is down. Used-up quota will be restored automatically."


@pytest.fixture(autouse=True)
def _product(settings):
    settings.LANGUAGE_CODE = "id"
    settings.RATE_LIMIT_REPORTS = "off"
    settings.REMEDIES_PAUSED = False  # approved remedies are applied at once (embedded ledger gateway)
    cache.clear()


def records():
    """The platform's exports, loaded: two failed stampings (one of them the applicant's), one success."""
    for value, status in ((serial(1), "refund"), (serial(2), "success"), (SERIAL, "refund")):
        PlatformStamping.objects.create(serial_number=value, account=ACCOUNT, status=status)


def earlier_reports():
    """Two reports of the outage that came in before it was declared, verified already."""
    attempted = timezone.now() - timedelta(minutes=40)
    tickets = [stamp_ticket(serial(n), attempted_at=attempted) for n in (1, 2)]
    for ticket in tickets:
        verification.verify_ticket(ticket_id=ticket.pk, source=ExportRecords())
    return tickets


def log_in(page, base, username, path):
    page.goto(f"{base}/admin/login/?next={path}")
    page.fill("#id_username", username)
    page.fill("#id_password", "secret-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"**{path}")


def outcome_counts(page):
    return page.locator("#by-outcome").inner_text()


def label(outcome):
    with translation.override("id"):
        return str(Outcome(outcome).label)


def declare(page, base):
    start = timezone.localtime() - timedelta(hours=1)
    log_in(page, base, "sam", "/admin/incidents/incident/add/")
    page.fill("#id_title", TITLE)
    page.fill("#id_starts_at_0", start.strftime("%Y-%m-%d"))
    page.fill("#id_starts_at_1", start.strftime("%H:%M:%S"))
    page.select_option("#id_failed", "stamping")
    page.fill("#id_notice_id", NOTICE_ID)
    page.fill("#id_notice_en", NOTICE_EN)
    assert page.is_checked("#id_auto_propose")
    with page.expect_navigation():
        page.click("input[name=_continue]")
    return Incident.objects.get(title=TITLE)


def report_through_the_form(page, base, tmp_path):
    """The applicant sees the notice on the form, then reports a stamping in the window."""
    page.goto(base + "/report/")
    assert NOTICE_ID in page.locator(".incident-notice").inner_text()
    what_happened(page, "stamp_failed")
    attempted = timezone.localtime() - timedelta(minutes=20)
    page.fill("#id_what-attempted_at", attempted.strftime("%Y-%m-%dT%H:%M"))
    next_step(page)
    your_data(page)
    next_step(page)
    shot = tmp_path / "riwayat.png"
    shot.write_bytes(image_bytes(size=(720, 1280)))
    page.set_input_files("#id_evidence-evidence", str(shot))
    next_step(page)
    page.check("#id_check-consent")
    next_step(page)
    return Ticket.objects.get(reference=page.locator("[data-reference]").inner_text().strip())


def test_a_supervisor_settles_an_incident_from_its_page(desk_page, page, live_server, sam, tmp_path):
    base = live_server.url
    records()
    confirmed, contradicted = earlier_reports()

    incident = declare(desk_page, base)
    assert desk_page.url.endswith(f"/admin/incidents/incident/{incident.pk}/change/")
    assert "(2)" in desk_page.locator("#incident-figures h2").inner_text()  # linked at once
    counts = outcome_counts(desk_page)
    assert f"{label('confirmed')}: 1" in counts and f"{label('contradicted')}: 1" in counts

    applicant = report_through_the_form(page, base, tmp_path)
    assert applicant.verification.outcome == Outcome.CONFIRMED  # verified at intake, against the exports
    assert applicant.incidents.get() == incident and applicant.state == State.AWAITING_APPROVAL
    page.goto(base + "/")
    assert NOTICE_ID in page.locator(".incident-notice").inner_text()
    screenshot(page, "landing-incident-phone")

    desk_page.reload()  # the report appears on the incident's page, with its outcome
    assert "(3)" in desk_page.locator("#incident-figures h2").inner_text()
    assert f"{label('confirmed')}: 2" in outcome_counts(desk_page)
    assert desk_page.locator("#stamps-restored").inner_text() == "0"

    with desk_page.expect_navigation():
        desk_page.click("#notice-sending button")
    assert desk_page.locator(".notice-sent").first.inner_text() == "3"
    notified = Message.objects.filter(event="incident_notice").values_list("ticket_id", flat=True)
    assert set(notified) == {confirmed.pk, contradicted.pk, applicant.pk}

    with desk_page.expect_navigation():
        desk_page.click("#bulk-approval button")
    job = desk_page.locator(".bulk-job").first.inner_text()
    assert "2 / 2" in job  # approved / proposals
    assert desk_page.locator("#stamps-restored").inner_text() == "2"  # applied through the ledger
    states = {t.pk: t.state for t in Ticket.objects.filter(pk__in=[confirmed.pk, applicant.pk])}
    assert set(states.values()) == {State.RESOLVED}
    assert Ticket.objects.get(pk=contradicted.pk).state == State.REPORTED  # left to an agent
    screenshot(desk_page, "console-incident-desk")
