"""The applicant's pages through Django's test client: form errors, values kept, honeypot, status page."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import strip_tags

from notifications.models import Message
from tests.factories import ticket_in_state
from tests.tickets.intake_helpers import SERIAL, stamp_failed, upload
from tests.tickets.report_steps import WHAT, step
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
    page = strip_tags(client.get("/").content.decode())  # the brand sits in a no-wrap span
    for words in ("Tangkapan layar riwayat pembubuhan", "Nomor seri e-Meterai", "Email akun e-Meterai Anda"):
        assert words in page


@pytest.mark.django_db
def test_status_page_needs_the_token(client):
    ticket = ticket_in_state(State.IN_REVIEW)
    assert client.get(f"/status/{ticket.reference}/").status_code == 404
    wrong = client.get(f"/status/{ticket.reference}/?token=nope")
    assert wrong.status_code == 404 and "Laporan tidak ditemukan" in wrong.content.decode()
    page = client.get(f"/status/{ticket.reference}/?token={ticket.tracking_token}").content.decode()
    assert ticket.reference in page and "Sedang diperiksa" in page


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
    assert response.status_code == 302
    assert response["Location"] == f"/status/{ticket.reference}/?token={ticket.tracking_token}"
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


def test_report_form_is_prefilled_from_the_link_sent_to_an_email(client, db):
    client.get("/report/", {"name": "PT Maju Jaya", "email": "admin@majujaya.co.id"})
    page = step(client, "what", WHAT).content.decode()  # the applicant's data is the second step
    assert 'value="PT Maju Jaya"' in page and 'value="admin@majujaya.co.id"' in page
