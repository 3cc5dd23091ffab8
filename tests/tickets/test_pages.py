"""The applicant's pages through Django's test client: form errors, values kept, honeypot, status page."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from notifications.models import Message
from tests.factories import ticket_in_state
from tests.tickets.intake_helpers import SERIAL, stamp_failed, upload
from tickets import services
from tickets.models import State, Ticket

pytestmark = pytest.mark.usefixtures("applicant_defaults")


def form(**overrides):
    data = stamp_failed(consent="on", submission_key="k" * 32, **overrides)
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/report/"])
def test_pages_render_in_both_languages_with_a_language_switch(client, path):
    indonesian = client.get(path).content.decode()
    assert 'lang="id"' in indonesian and "/i18n/setlang/" in indonesian
    client.cookies["django_language"] = "en"
    english = client.get(path).content.decode()
    assert 'lang="en"' in english
    assert indonesian != english


@pytest.mark.django_db
def test_landing_explains_what_to_prepare(client):
    page = client.get("/").content.decode()
    for words in ("Tangkapan layar riwayat pembubuhan", "Nomor seri e-Meterai", "Email akun e-Meterai Anda"):
        assert words in page


@pytest.mark.django_db
def test_valid_form_redirects_to_the_reference_and_tracking_link(client):
    response = client.post("/report/", form())
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert response["Location"] == f"/report/{ticket.reference}/sent/?token={ticket.tracking_token}"
    page = client.get(response["Location"]).content.decode()
    assert ticket.reference in page
    assert f"/status/{ticket.reference}/?token={ticket.tracking_token}" in page
    assert ticket.language == "id"


@pytest.mark.django_db
def test_double_submit_of_one_form_creates_one_ticket(client):
    first = client.post("/report/", form())
    second = client.post("/report/", form())
    assert first["Location"] == second["Location"]
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_form_sent_again_with_other_values_asks_to_send_a_new_report(client):
    client.post("/report/", form())
    response = client.post("/report/", form(quota_lost="5"))
    assert response.status_code == 422
    assert "Formulir ini sudah dikirim" in response.content.decode()
    assert 'value="' + "k" * 32 + '"' not in response.content.decode()  # a new form key
    assert Ticket.objects.count() == 1


@pytest.mark.django_db
def test_errors_are_shown_next_to_fields_and_summarised_with_values_kept(client):
    response = client.post("/report/", form(nik="123", whatsapp="021 555 1234", full_name="Siti Aminah"))
    assert response.status_code == 400
    page = response.content.decode()
    summary = page.split('id="summary"')[1].split("</div>")[0]
    assert 'href="#id_nik"' in summary and "NIK harus terdiri dari 16 angka." in summary
    nik_field = page.split('id="field-nik"')[1].split('<div class="field')[0]
    assert "NIK harus terdiri dari 16 angka." in nik_field and 'value="123"' in nik_field
    assert 'value="Siti Aminah"' in page
    assert SERIAL in page  # the serial numbers typed are kept
    assert "Tersimpan dari percobaan sebelumnya: riwayat.png" in page  # not asked again
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
def test_screenshots_accepted_once_are_not_asked_again(client):
    page = client.post("/report/", form(nik="123")).content.decode()
    kept_key = re.search(r'name="kept_evidence" value="([^"]+)"', page).group(1)
    data = form(kept_evidence=kept_key)
    del data["evidence"]
    response = client.post("/report/", data)
    assert response.status_code == 302, response.content.decode()
    ticket = Ticket.objects.get()
    assert ticket.evidence.count() == 1 and ticket.evidence.get().original_name == "riwayat.png"


@pytest.mark.django_db
def test_unknown_kept_key_asks_for_the_screenshot(client):
    data = form(kept_evidence="made-up")
    del data["evidence"]
    response = client.post("/report/", data)
    assert response.status_code == 400
    assert "Lampirkan paling sedikit satu tangkapan layar" in response.content.decode()
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
def test_form_errors_in_english_when_the_page_is_english(client):
    client.cookies["django_language"] = "en"
    page = client.post("/report/", form(nik="123")).content.decode()
    assert "The NIK must have 16 digits." in page and "Please check the form" in page


@pytest.mark.django_db
def test_honeypot_filled_stores_nothing(client):
    response = client.post("/report/", form(website="http://spam.example"))
    assert response.status_code == 400
    assert Ticket.objects.count() == 0 and Message.objects.count() == 0


@pytest.mark.django_db
def test_bad_screenshot_on_the_form_is_explained_and_stores_nothing(client):
    response = client.post("/report/", form(evidence=upload(b"not an image", "foto.png")))
    assert response.status_code == 415
    assert "foto.png: Berkas bukan gambar yang dapat dibaca." in response.content.decode()
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
def test_status_page_needs_the_token(client):
    ticket = ticket_in_state(State.IN_REVIEW)
    assert client.get(f"/status/{ticket.reference}/").status_code == 404
    wrong = client.get(f"/status/{ticket.reference}/?token=nope")
    assert wrong.status_code == 404 and "Laporan tidak ditemukan" in wrong.content.decode()
    page = client.get(f"/status/{ticket.reference}/?token={ticket.tracking_token}").content.decode()
    assert ticket.reference in page and "Diverifikasi" in page


@pytest.mark.django_db
def test_reply_from_the_status_page(client, alice, run_on_commit):
    ticket = ticket_in_state(State.IN_REVIEW, assigned_to=alice)
    services.fire("request_info", ticket=ticket, actor=alice, message="Nomor seri kurang jelas.")
    page = client.get(f"/status/{ticket.reference}/?token={ticket.tracking_token}").content.decode()
    assert "Nomor seri kurang jelas." in page
    response = run_on_commit(
        client.post,
        f"/status/{ticket.reference}/reply/",
        {"token": ticket.tracking_token, "body": "Nomornya " + SERIAL, "evidence": upload()},
    )
    assert response.status_code == 302 and response["Location"].endswith("&done=reply")
    assert Ticket.objects.get(pk=ticket.pk).state == State.IN_REVIEW
    page = client.get(response["Location"]).content.decode()
    assert "Nomornya " + SERIAL in page
    assert page.count("kami memerlukan data tambahan") == 1  # sent on WhatsApp and email, shown once
    assert re.search(r'<img src="/status/EMT-\w+/evidence/\d+/\?token=[^"]+thumb=1"', page)


@pytest.mark.django_db
def test_confirm_button_closes_a_resolved_report(client):
    ticket = ticket_in_state(State.RESOLVED)
    page = client.get(f"/status/{ticket.reference}/?token={ticket.tracking_token}").content.decode()
    assert "Ya, masalah saya sudah selesai" in page
    response = client.post(f"/status/{ticket.reference}/confirm/", {"token": ticket.tracking_token})
    assert response.status_code == 302
    assert Ticket.objects.get(pk=ticket.pk).state == State.CLOSED
    assert (
        client.post(f"/status/{ticket.reference}/confirm/", {"token": ticket.tracking_token}).status_code
        == 409
    )


@pytest.mark.django_db
def test_status_page_without_token_in_form_is_404(client):
    ticket = ticket_in_state(State.RESOLVED)
    assert client.post(f"/status/{ticket.reference}/confirm/", {}).status_code == 404
    assert Ticket.objects.get(pk=ticket.pk).state == State.RESOLVED


LINK = "http://127.0.0.1:8000/status/EMT-ABCDEFG/?token=t0k3n"


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (f"Halo Siti, laporan Anda diterima dengan nomor EMT-ABCDEFG. Pantau statusnya di sini: {LINK}",
         "Halo Siti, laporan Anda diterima dengan nomor EMT-ABCDEFG."),
        (f"Terima kasih, kami periksa.\n\nLaporan EMT-ABCDEFG: {LINK}", "Terima kasih, kami periksa."),
        (f"Laporan EMT-ABCDEFG sudah selesai. Terima kasih. {LINK}",
         "Laporan EMT-ABCDEFG sudah selesai. Terima kasih."),
        ("No link here: the text stays.", "No link here: the text stays."),
    ],
)  # fmt: skip
def test_status_page_messages_drop_the_link_and_the_words_announcing_it(body, shown):
    from desk.applicant.pages import without_link

    assert without_link(body, LINK) == shown


# --- a lost tracking link -------------------------------------------------------------------------


@pytest.fixture
def reported(db):
    return ticket_in_state(State.IN_REVIEW, whatsapp="+6281234567890", email="siti@example.com")


def ask_for_link(client, reference, contact):
    return client.post("/status/", {"reference": reference, "contact": contact})


@pytest.mark.parametrize(
    ("contact", "channel"), [("0812-3456-7890", "whatsapp"), ("Siti@Example.com", "email")]
)
def test_lost_link_is_sent_again_to_the_contact_on_file(client, reported, contact, channel):
    response = ask_for_link(client, reported.reference.lower(), contact)
    assert response.status_code == 200 and b'id="sent"' in response.content
    sent = Message.objects.get(ticket=reported, event="tracking_link")
    assert sent.channel == channel and reported.tracking_token in sent.body


@pytest.mark.parametrize("contact", ["0813-0000-0000", "other@example.com", "not a number"])
def test_lost_link_for_another_contact_sends_nothing_and_says_the_same(client, reported, contact):
    response = ask_for_link(client, reported.reference, contact)
    assert response.status_code == 200 and b'id="sent"' in response.content
    assert not Message.objects.filter(event="tracking_link").exists()


def test_lost_link_for_an_unknown_reference_says_the_same(client, reported):
    response = ask_for_link(client, "EMT-ZZZZZZZ", "0812-3456-7890")
    assert response.status_code == 200 and b'id="sent"' in response.content
    assert not Message.objects.filter(event="tracking_link").exists()


@pytest.fixture
def queued_tasks():
    """Tasks are queued on the in-memory broker, not run in the request (as with a real broker)."""
    from config.celery import app

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    app.conf.update(broker_url="memory://localhost/", task_always_eager=False)
    yield
    app.conf.update(saved)


def test_lost_link_does_the_same_work_whether_or_not_the_details_match(client, reported, queued_tasks):
    work = []
    for reference, contact in [
        (reported.reference, "0812-3456-7890"),
        (reported.reference, "0813-0000-0000"),
        ("EMT-ZZZZZZZ", "0812-3456-7890"),
    ]:
        with CaptureQueriesContext(connection) as queries:
            response = ask_for_link(client, reference, contact)
        assert response.status_code == 200 and b'id="sent"' in response.content
        work.append(len(queries.captured_queries))
    assert work[0] == work[1] == work[2]
    assert not Message.objects.filter(event="tracking_link").exists()  # the task sends, later


def test_lost_link_page_says_the_link_was_sent_only_if_the_details_match(client, reported):
    page = ask_for_link(client, "EMT-ZZZZZZZ", "0812-3456-7890").content.decode()
    assert "Jika datanya cocok dengan sebuah laporan" in page


def test_lost_link_needs_both_fields(client, reported):
    response = ask_for_link(client, reported.reference, "")
    assert response.status_code == 400
    assert not Message.objects.filter(event="tracking_link").exists()


def test_lost_link_requests_are_rate_limited_per_reference(client, reported, settings):
    settings.RATE_LIMIT_REPORTS = "100/2"
    for _attempt in range(2):
        assert ask_for_link(client, reported.reference, "0813-0000-0000").status_code == 200
    response = ask_for_link(client, reported.reference, "0812-3456-7890")
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert not Message.objects.filter(event="tracking_link").exists()


def test_landing_page_offers_the_lost_link_page(client):
    assert b'href="/status/"' in client.get("/").content
