"""Each kind of report can be sent from a real browser (phone size) through the form's steps."""

import pytest

from tests.tickets.intake_helpers import image_bytes
from tests.tickets.report_browser import next_step, what_happened, your_data
from tickets.models import Ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("applicant_defaults"),
]


@pytest.fixture
def screenshot_file(tmp_path):
    path = tmp_path / "riwayat-pembubuhan.png"
    path.write_bytes(image_bytes(size=(1080, 1920)))
    return path


@pytest.mark.parametrize(
    "category,whatsapp",
    [
        ("stamp_failed", "0812-3456-7890"),
        ("paid_not_credited", "0813-1111-2222"),
        ("other", "0812-5555-6666"),
    ],
)
def test_each_category_is_sent_through_the_real_form(page, live_server, screenshot_file, category, whatsapp):
    """The hidden sections post their empty fields too; they are ignored, never refused."""
    page.goto(live_server.url + "/report/")
    what_happened(page, category)
    next_step(page)
    your_data(page, whatsapp=whatsapp)
    next_step(page)
    if category != "other":
        page.set_input_files("#id_evidence-evidence", str(screenshot_file))
    next_step(page)
    page.check("#id_check-consent")
    next_step(page)
    assert page.locator("#summary").count() == 0, page.locator("#summary").inner_text()
    assert "Laporan diterima" in page.locator("h1").inner_text()
    ticket = Ticket.objects.get(reference=page.locator("[data-reference]").inner_text().strip())
    assert ticket.category == category
