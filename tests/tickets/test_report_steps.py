"""The report form in steps, through Django's test client: the rules are the API's, step by step."""

import pytest

from notifications.models import Message
from tests.tickets.intake_helpers import SERIAL, upload
from tests.tickets.report_steps import WHAT, YOU, back, send, step, submission_key, walk_to_check
from tickets import kept_evidence
from tickets.models import Ticket

pytestmark = [pytest.mark.usefixtures("applicant_defaults"), pytest.mark.django_db]


def test_the_steps_end_on_the_confirmation_with_the_reference(client):
    response = send(client)
    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/report/{ticket.reference}/sent/?token={ticket.tracking_token}"
    assert ticket.evidence.get().original_name == "riwayat.png"
    assert ticket.language == "id" and ticket.serials.get().value == SERIAL


def test_each_step_says_where_the_applicant_is(client):
    client.get("/report/")
    page = step(client, "what", WHAT).content.decode()
    assert "Langkah 2 dari 4" in page and "<title>Data Anda" in page


def test_a_step_shows_every_error_at_once(client):
    client.get("/report/")
    response = step(client, "what", {"category": "stamp_failed", "quota_lost": "x"})
    page = response.content.decode()
    assert response.status_code == 400
    assert 'href="#id_what-quota_lost"' in page and 'href="#id_what-serial_numbers"' in page


def test_the_page_title_starts_with_error_when_a_step_is_refused(client):
    client.get("/report/")
    page = step(client, "what", {"category": "stamp_failed"}).content.decode()
    assert "<title>Galat: " in page


def test_an_error_is_tied_to_its_input(client):
    client.get("/report/")
    page = step(client, "what", {"category": "stamp_failed"}).content.decode()
    field = page.split('id="field-quota_lost"')[1].split("</div>")[0]
    assert 'aria-describedby="id_what-quota_lost-error"' in field
    assert 'id="id_what-quota_lost-error"' in field and 'aria-invalid="true"' in field


def test_required_fields_are_marked_in_words_and_for_assistive_technology(client):
    client.get("/report/")
    page = step(client, "what", WHAT).content.decode()
    name = page.split('id="field-full_name"')[1].split("</div>")[0]
    assert "(wajib)" in name and " required" in name and 'aria-required="true"' in name


def test_the_missing_screenshot_is_an_error_of_the_evidence_step(client):
    client.get("/report/")
    step(client, "what", WHAT)
    step(client, "you", YOU)
    response = step(client, "evidence", {})
    assert response.status_code == 400
    assert "Lampirkan paling sedikit satu tangkapan layar" in response.content.decode()


def test_other_needs_no_screenshot(client):
    what = {"category": "other", "description": "Saya tidak bisa masuk."}
    response = send(client, what=what, evidence=False)
    assert response.status_code == 302 and Ticket.objects.get().category == "other"


def test_going_back_shows_the_answers_given(client):
    client.get("/report/")
    step(client, "what", WHAT)
    page = back(client, "you", "what").content.decode()
    assert SERIAL in page and 'value="stamp_failed" id="id_what-category_0" checked' in page


def test_going_back_keeps_what_was_typed_on_the_step_left(client):
    client.get("/report/")
    step(client, "what", WHAT)
    step(client, "you", {"full_name": "Siti Aminah"}, wizard_goto_step="what")
    page = step(client, "what", WHAT).content.decode()
    assert 'value="Siti Aminah"' in page


def test_the_check_page_shows_what_will_be_sent(client):
    page = walk_to_check(client).content.decode()
    for shown in (SERIAL, "Siti Rahmawati", "riwayat.png", "Pembubuhan gagal, tetapi kuota saya terpakai"):
        assert shown in page


def test_the_check_page_leaves_out_sections_that_do_not_apply(client):
    what = {**WHAT, "order_id": "ORD-1"}  # typed, then the category changed
    page = walk_to_check(client, what=what).content.decode()
    assert "ORD-1" not in page


def test_consent_is_asked_on_the_check_page(client):
    page = walk_to_check(client).content.decode()
    response = step(client, "check", {"submission_key": submission_key(page)})
    assert response.status_code == 400 and Ticket.objects.count() == 0


def test_a_double_tap_on_send_makes_one_ticket(client):
    page = walk_to_check(client).content.decode()
    data = {"consent": "on", "submission_key": submission_key(page)}
    first = step(client, "check", data)
    second = step(client, "check", data)
    assert first["Location"] == second["Location"] and Ticket.objects.count() == 1


def test_honeypot_filled_stores_nothing(client):
    client.get("/report/")
    response = step(client, "what", {**WHAT, "website": "http://spam.example"})
    assert response.status_code == 400
    assert Ticket.objects.count() == 0 and Message.objects.count() == 0


def test_errors_in_english_when_the_page_is_english(client):
    client.cookies["django_language"] = "en"
    client.get("/report/")
    step(client, "what", WHAT)
    page = step(client, "you", {**YOU, "nik": "123"}).content.decode()
    assert "The NIK must have 16 digits." in page and "<title>Error: " in page


def test_a_bad_screenshot_is_explained_and_stores_nothing(client):
    client.get("/report/")
    step(client, "what", WHAT)
    step(client, "you", YOU)
    response = step(client, "evidence", {"evidence": upload(b"not an image", "foto.png")})
    assert "foto.png: Berkas bukan gambar yang dapat dibaca." in response.content.decode()
    assert Ticket.objects.count() == 0


def test_the_screenshot_between_steps_is_not_in_the_session(client):
    walk_to_check(client)
    wizard = client.session["wizard_report_wizard"]
    assert not wizard["step_files"].get("evidence")  # no upload kept by formtools in the session
    key = wizard["extra_data"]["kept_evidence"]  # only the key of the private storage's copy
    assert kept_evidence.kept(key)[0][0] == "riwayat.png"


def test_a_rate_limited_send_says_so_on_the_check_page_and_keeps_the_answers(client, settings):
    page = walk_to_check(client).content.decode()
    settings.RATE_LIMIT_REPORTS = "0/100"
    response = step(client, "check", {"consent": "on", "submission_key": submission_key(page)})
    assert response.status_code == 429 and response.has_header("Retry-After")
    assert "Siti Rahmawati" in response.content.decode() and Ticket.objects.count() == 0
    settings.RATE_LIMIT_REPORTS = "off"
    again = step(client, "check", {"consent": "on", "submission_key": submission_key(page)})
    assert again.status_code == 302 and Ticket.objects.count() == 1


def test_a_change_from_the_check_page_returns_to_it(client):
    walk_to_check(client)
    step(client, "check", wizard_goto_step="you")
    page = step(client, "you", {**YOU, "full_name": "Siti Aminah"}).content.decode()
    assert "<title>Periksa jawaban Anda" in page and "Siti Aminah" in page
