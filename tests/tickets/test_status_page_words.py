"""The status page and the lost-link page read right (issue 13): states, remedies, senders, questions,
messages to finished tickets, notices shown once."""

import pytest
from django.utils.html import strip_tags

from notifications.models import Message
from tests.factories import ticket_in_state
from tests.tickets.intake_helpers import SERIAL
from tickets import services
from tickets.models import State, Ticket

pytestmark = [pytest.mark.usefixtures("applicant_defaults"), pytest.mark.django_db]


def status_page(client, ticket):
    return client.get(f"/status/{ticket.reference}/?token={ticket.tracking_token}").content.decode()


def test_in_review_reads_being_checked(client):
    page = status_page(client, ticket_in_state(State.IN_REVIEW))
    assert "Sedang diperiksa" in page and "Diverifikasi" not in page


def test_resolved_says_the_quota_was_restored(client):
    page = status_page(client, ticket_in_state(State.RESOLVED))
    assert "Kuota dipulihkan" in page and "Dana dikembalikan" not in page


def test_resolved_says_the_money_was_refunded(client):
    ticket = ticket_in_state(State.RESOLVED)
    ticket.remedies.update(kind="refund", quantity=None, amount=50000)
    page = status_page(client, ticket)
    assert "Dana dikembalikan" in page and "Kuota dipulihkan /" not in page


def test_automatic_messages_are_signed_by_the_service(client):
    ticket = ticket_in_state(State.REPORTED)
    Message.objects.create(ticket=ticket, direction="out", channel="email", body="Laporan diterima.")
    page = status_page(client, ticket)
    conversation = strip_tags(page.split("<h2>Pesan</h2>")[1])  # the brand sits in a no-wrap span
    assert "Layanan Pengaduan e-Meterai ·" in conversation and "Petugas" not in conversation


def test_the_question_is_right_above_the_reply_box(client, alice):
    ticket = ticket_in_state(State.IN_REVIEW, assigned_to=alice)
    services.fire("request_info", ticket=ticket, actor=alice, message="Nomor seri kurang jelas.")
    page = status_page(client, ticket)
    reply = page.split('id="reply"')[1]
    assert reply.index('id="question"') < reply.index('id="id_body"')
    assert "Nomor seri kurang jelas." in reply.split('id="id_body"')[0]


def test_the_status_page_shows_what_was_reported(client):
    page = status_page(client, ticket_in_state(State.REPORTED, serials=[SERIAL]))
    reported = page.split('id="reported"')[1].split("</section>")[0]
    assert SERIAL in reported and "surat-lamaran.pdf" in reported


def test_a_notice_after_a_reply_shows_once(client):
    ticket = ticket_in_state(State.IN_REVIEW)
    response = client.post(
        f"/status/{ticket.reference}/reply/", {"token": ticket.tracking_token, "body": "Halo"}
    )
    assert "Terima kasih, pesan Anda sudah terkirim." in client.get(response["Location"]).content.decode()
    assert "Terima kasih, pesan Anda sudah terkirim." not in client.get(response["Location"]).content.decode()


def test_a_message_to_a_closed_report_opens_a_new_report_for_an_agent(client):
    closed = ticket_in_state(State.CLOSED)
    response = client.post(
        f"/status/{closed.reference}/reply/", {"token": closed.tracking_token, "body": "Kuota hilang lagi."}
    )
    new = Ticket.objects.exclude(pk=closed.pk).get()
    assert response["Location"] == f"/status/{new.reference}/?token={new.tracking_token}"
    assert new.state == State.REPORTED and new.nik == closed.nik and closed.reference in new.description
    assert new.messages.filter(direction="in", body="Kuota hilang lagi.").exists()
    assert not closed.messages.filter(direction="in").exists()


def test_a_message_to_a_closed_report_through_the_api_answers_the_new_report(client):
    closed = ticket_in_state(State.CLOSED)
    response = client.post(
        f"/api/v1/reports/{closed.reference}/messages/",
        {"body": "Kuota hilang lagi."},
        HTTP_X_TRACKING_TOKEN=closed.tracking_token,
    )
    new = Ticket.objects.exclude(pk=closed.pk).get()
    assert response.status_code == 201
    assert response.json()["reference"] == new.reference
    assert response.json()["tracking_token"] == new.tracking_token


@pytest.mark.parametrize("typed", ["{code}", "emt-{code}", "EMT {code}", " emt{code} "])
def test_the_lost_link_page_takes_the_reference_with_or_without_emt(client, typed):
    ticket = ticket_in_state(State.IN_REVIEW, whatsapp="+6281234567890")
    code = ticket.reference.removeprefix("EMT-")
    client.post("/status/", {"reference": typed.format(code=code), "contact": "0812-3456-7890"})
    assert Message.objects.filter(ticket=ticket, event="tracking_link").exists()
