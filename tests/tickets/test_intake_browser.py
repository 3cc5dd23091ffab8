"""The applicant's way in, in headless Chromium at a phone's size, in Indonesian and in English."""

import pytest

from tests.browser import screenshot
from tests.tickets.intake_helpers import SERIAL, image_bytes
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


def fill_report(page, screenshot_file, *, nik="3171014501900001"):
    page.check("#category-stamp_failed")
    page.fill("#id_full_name", "Siti Rahmawati")
    page.fill("#id_nik", nik)
    page.fill("#id_email", "siti@example.com")
    page.fill("#id_whatsapp", "0812-3456-7890")
    page.fill("#id_quota_lost", "2")
    page.fill("#id_serial_numbers", SERIAL)
    page.set_input_files("#id_evidence", str(screenshot_file))
    page.check("#id_consent")


@pytest.mark.parametrize(
    "language,texts",
    [
        ("id", {"start": "Buat laporan", "sent": "Laporan diterima", "follow": "Pantau laporan saya",
                "state": "Dilaporkan", "error": "NIK harus terdiri dari 16 angka."}),
        ("en", {"start": "Report a problem", "sent": "Report received", "follow": "Follow my report",
                "state": "Reported", "error": "The NIK must have 16 digits."}),
    ],
)  # fmt: skip
def test_report_from_a_phone_and_follow_it(page, live_server, screenshot_file, language, texts):
    page.goto(live_server.url + "/")
    if language == "en":
        page.click("header .lang button[value=en]")
        page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == language
    screenshot(page, f"intake-{language}-1-landing")
    page.click(f"text={texts['start']}")

    fill_report(page, screenshot_file, nik="12345")
    screenshot(page, f"intake-{language}-2-form")
    page.click("button[type=submit].button")
    assert texts["error"] in page.locator("#summary").inner_text()
    assert texts["error"] in page.locator("#field-nik").inner_text()
    assert page.input_value("#id_full_name") == "Siti Rahmawati"  # kept
    screenshot(page, f"intake-{language}-3-errors")
    assert Ticket.objects.count() == 0

    assert screenshot_file.name in page.locator("#field-evidence .note").inner_text()  # kept, not re-asked
    page.fill("#id_nik", "3171014501900001")
    page.click("button[type=submit].button")
    reference = page.locator("[data-reference]").inner_text().strip()
    assert texts["sent"] in page.locator("h1").inner_text()
    ticket = Ticket.objects.get(reference=reference)
    assert ticket.language == language and ticket.evidence.count() == 1
    screenshot(page, f"intake-{language}-4-sent")

    page.click(f"text={texts['follow']}")
    assert reference in page.locator("h1").inner_text()
    assert texts["state"] in page.locator(".state").inner_text()
    page.wait_for_function("[...document.images].every(img => img.complete && img.naturalWidth > 0)")
    page.fill("#id_body", "Terima kasih" if language == "id" else "Thank you")
    page.click(".reply button[type=submit]")
    screenshot(page, f"intake-{language}-5-status")
    assert page.locator(".from-applicant").count() == 1
    screenshot(page, f"intake-{language}-5-status")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing wider than the phone


def fill_applicant(page, *, category, name, whatsapp):
    page.check(f"#category-{category}")
    page.fill("#id_full_name", name)
    page.fill("#id_nik", "3171014501900001")
    page.fill("#id_email", "pelapor@example.com")
    page.fill("#id_whatsapp", whatsapp)
    page.check("#id_consent")


def fill_stamp_failed(page, screenshot_file):
    page.fill("#id_quota_lost", "2")
    page.fill("#id_serial_numbers", SERIAL)
    page.set_input_files("#id_evidence", str(screenshot_file))


def fill_paid_not_credited(page, screenshot_file):
    page.fill("#id_order_id", "ORD-2024-0001")
    page.fill("#id_amount_paid", "Rp 50.000")
    page.set_input_files("#id_evidence", str(screenshot_file))


def fill_other(page, screenshot_file):
    page.fill("#id_description", "Saya tidak bisa masuk ke akun e-Meterai.")


@pytest.mark.parametrize(
    "category,fill,whatsapp",
    [
        ("stamp_failed", fill_stamp_failed, "0812-3456-7890"),
        ("paid_not_credited", fill_paid_not_credited, "0813-1111-2222"),
        ("other", fill_other, "0812-5555-6666"),
    ],
)
def test_each_category_is_sent_through_the_real_form(
    page, live_server, screenshot_file, category, fill, whatsapp
):
    """The hidden sections post their empty fields too; they are ignored, never refused."""
    page.goto(live_server.url + "/report/")
    fill_applicant(page, category=category, name="Siti Rahmawati", whatsapp=whatsapp)
    fill(page, screenshot_file)
    page.click("button[type=submit].button")
    page.wait_for_load_state()
    screenshot(page, f"intake-category-{category}")
    assert page.locator("#summary").count() == 0, page.locator("#summary").inner_text()
    assert "Laporan diterima" in page.locator("h1").inner_text()
    ticket = Ticket.objects.get(reference=page.locator("[data-reference]").inner_text().strip())
    assert ticket.category == category
