"""The report form's steps at phone size (390x844), in Indonesian and English: errors, going back,
check your answers and the confirmation, each page checked with axe-core."""

import pytest

from tests.accessibility import contrast
from tests.browser import screenshot
from tests.tickets.intake_helpers import SERIAL, image_bytes
from tests.tickets.report_browser import BACK, accessible, next_step, what_happened, your_data
from tickets.models import Ticket

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("applicant_defaults"),
]

WORDS = {
    "id": {"step": "Langkah {} dari 4", "error": "Galat: ", "sent": "Laporan diterima", "nik": "NIK harus"},
    "en": {"step": "Step {} of 4", "error": "Error: ", "sent": "Report received", "nik": "The NIK must"},
}


@pytest.fixture
def screenshot_file(tmp_path):
    path = tmp_path / "riwayat-pembubuhan.png"
    path.write_bytes(image_bytes(size=(1080, 1920)))
    return path


def start(page, live_server, language):
    page.goto(live_server.url + "/report/")
    if language == "en":
        page.click("header .lang button[value=en]")
        page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == language


def on_step(page, language, number):
    assert WORDS[language]["step"].format(number) in page.locator(".step-count").inner_text()
    assert page.viewport_size["width"] == 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    accessible(page)


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("category", ["stamp_failed", "paid_not_credited", "other"])
def test_each_category_walks_the_steps_on_a_phone(page, live_server, screenshot_file, language, category):
    words = WORDS[language]
    start(page, live_server, language)
    on_step(page, language, 1)
    shots = category == "stamp_failed"
    if shots:
        screenshot(page, f"report-{language}-1-what")

    next_step(page)  # nothing chosen: refused, every error at once
    assert page.title().startswith(words["error"])
    assert page.evaluate("document.activeElement.id") == "summary"
    accessible(page)
    what_happened(page, category)
    next_step(page)

    on_step(page, language, 2)
    if shots:
        screenshot(page, f"report-{language}-2-you")
    your_data(page, nik="12345", name="S")
    next_step(page)
    assert page.title().startswith(words["error"])
    assert words["nik"] in page.locator("#summary").inner_text()
    assert page.locator("#summary a").count() == 2  # the name and the NIK, at once
    described = page.get_attribute("#id_you-nik", "aria-describedby")
    assert "id_you-nik-error" in described
    accessible(page)
    if shots:
        screenshot(page, f"report-{language}-3-errors")
    page.click(BACK)  # back: the first step's answers are there
    page.wait_for_load_state()
    assert page.is_checked(f"input[name='what-category'][value='{category}']")
    next_step(page)
    assert page.input_value("#id_you-nik") == "12345"  # kept, though it was refused
    your_data(page)
    next_step(page)

    on_step(page, language, 3)
    if category != "other":
        next_step(page)  # no screenshot: refused
        assert page.locator("#field-evidence .error").count() == 1
        page.set_input_files("#id_evidence-evidence", str(screenshot_file))
    if shots:
        screenshot(page, f"report-{language}-4-evidence")
    next_step(page)

    on_step(page, language, 4)
    answers = page.locator(".answers").all_inner_texts()
    assert "Siti Rahmawati" in answers[1]
    if category == "stamp_failed":
        assert SERIAL in answers[0] and screenshot_file.name in answers[2]
    if shots:
        screenshot(page, f"report-{language}-5-check")
    page.check("#id_check-consent")
    next_step(page)

    assert words["sent"] in page.locator("h1").inner_text()
    reference = page.locator("[data-reference]").inner_text().strip()
    assert Ticket.objects.get(reference=reference).category == category
    assert "*" in page.locator("#sent-to").inner_text()  # the contact, masked
    accessible(page)
    if shots:
        screenshot(page, f"report-{language}-6-sent")
        page.click("text=" + ("Pantau laporan saya" if language == "id" else "Follow my report"))
        page.wait_for_load_state()
        accessible(page)
        screenshot(page, f"report-{language}-7-status")


def test_the_focus_ring_stands_out_three_to_one(page, live_server):
    page.goto(live_server.url + "/report/")
    page.focus("input[name='what-category'][value='stamp_failed']")
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
    background = page.evaluate("getComputedStyle(document.body.parentElement).backgroundColor")
    assert contrast(ring, background) >= 3
    assert contrast(ring, "rgb(255, 255, 255)") >= 3  # on the white cards too


def test_the_landing_and_lost_link_pages_pass_axe(page, live_server):
    for path in ("/", "/status/"):
        page.goto(live_server.url + path)
        accessible(page)
