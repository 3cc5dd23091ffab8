"""Inbound email under attack and faults: a stranger naming a ticket, a MIME bomb, a crash before reading."""

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from notifications import mail, tasks
from notifications.models import Direction, HeldReason, InboundEmail, InboundEmailState, Message
from tests.factories import ticket_in_state
from tests.notifications.conftest import REFERENCE, eml
from tickets.models import Evidence, State

pytestmark = pytest.mark.django_db

SECRET = "s3cret-value"


@pytest.fixture
def applicant_ticket(db):
    return ticket_in_state(State.AWAITING_INFO, reference=REFERENCE, email="budi.santoso@gmail.com")


def from_stranger(raw):
    """The same reply, screenshot included, sent by someone who is not the ticket's applicant."""
    return raw.replace(b"Budi Santoso <budi.santoso@gmail.com>", b"Mallory <mallory@evil.example>")


def post_email(client, raw):
    return client.post("/webhooks/email/", raw, content_type="message/rfc822", HTTP_X_INBOUND_SECRET=SECRET)


# --- another sender naming the ticket ------------------------------------------------------------


def test_mail_from_another_address_is_held_not_taken_as_the_applicants(applicant_ticket):
    result = mail.receive_email(from_stranger(eml("gmail_reply_en_with_screenshot.eml")))
    message = result.message
    assert result.held and message.ticket == applicant_ticket
    assert message.held_reason == HeldReason.OTHER_SENDER and message.from_address == "mallory@evil.example"
    assert not applicant_ticket.messages.public().filter(direction=Direction.INBOUND).exists()


def test_mail_from_another_address_fires_no_transition(applicant_ticket):
    mail.receive_email(from_stranger(eml("gmail_reply_en_with_screenshot.eml")))
    applicant_ticket.refresh_from_db()
    assert applicant_ticket.state == State.AWAITING_INFO


def test_attachments_of_mail_from_another_address_are_not_evidence(applicant_ticket):
    message = mail.receive_email(from_stranger(eml("gmail_reply_en_with_screenshot.eml"))).message
    assert not Evidence.objects.exists()
    assert "riwayat-stamping.png" in message.error_message  # kept aside, in the raw message
    assert b"riwayat-stamping.png" in bytes(message.inbound_email.raw)


def test_the_applicants_address_is_matched_whatever_its_case(applicant_ticket):
    raw = eml("gmail_reply_en_with_screenshot.eml").replace(
        b"<budi.santoso@gmail.com>", b"<Budi.Santoso@GMAIL.com>"
    )
    result = mail.receive_email(raw)
    applicant_ticket.refresh_from_db()
    assert not result.held and applicant_ticket.state == State.IN_REVIEW and Evidence.objects.count() == 1


def test_staff_api_shows_mail_from_another_address_as_held(applicant_ticket, alice):
    mail.receive_email(from_stranger(eml("gmail_reply_en_with_screenshot.eml")))
    client = APIClient()
    client.force_authenticate(alice)
    (shown,) = client.get(f"/api/v1/tickets/{REFERENCE}/").json()["messages"]
    assert shown["held_reason"] == "other_sender" and shown["internal"] is True
    assert shown["from_address"] == "mallory@evil.example"


def test_ticket_page_marks_mail_from_another_address(client, applicant_ticket, alice):
    mail.receive_email(from_stranger(eml("gmail_reply_en_with_screenshot.eml")))
    client.force_login(alice)
    page = client.get(reverse("admin:tickets_ticket_change", args=[applicant_ticket.pk])).content.decode()
    assert "Email from another address" in page and "mallory@evil.example" in page


# --- the raw message ------------------------------------------------------------------------------


def test_the_raw_message_is_kept_with_the_reply_and_staff_can_open_it(client, applicant_ticket, alice):
    raw = eml("gmail_reply_en_with_screenshot.eml")
    message = mail.receive_email(raw).message
    inbound = InboundEmail.objects.get(message=message)
    assert bytes(inbound.raw) == raw and inbound.state == InboundEmailState.STORED
    client.force_login(alice)
    page = client.get(reverse("admin:notifications_inboundemail_change", args=[inbound.pk])).content.decode()
    assert "Budi Santoso" in page and "<details>" in page


# --- MIME bombs -----------------------------------------------------------------------------------


def mime_bomb(parts):
    head = (
        b"From: Mallory <mallory@evil.example>\r\nTo: bantuan@emeterai.test\r\nSubject: bomb\r\n"
        b"Message-ID: <bomb-%d@evil.example>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n' % parts
    )
    return head + b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" * parts + b"--b--\r\n"


def nested_bomb(depth):
    raw = b"Content-Type: text/plain\r\n\r\ninner\r\n"
    for level in range(depth):
        raw = (
            b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (level, level)
            + raw
            + b"\r\n--n%d--\r\n" % level
        )
    return (
        b"From: Mallory <mallory@evil.example>\r\nSubject: deep\r\nMessage-ID: <deep@evil.example>\r\n"
        b"MIME-Version: 1.0\r\n" + raw
    )


def test_a_mime_bomb_over_http_is_answered_at_once_and_refused_by_the_worker(
    client, settings, django_capture_on_commit_callbacks
):
    settings.INBOUND_EMAIL_SECRET = SECRET
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):  # eager Celery: the worker runs in-process
        answer = post_email(client, mime_bomb(200_000))
    assert answer.status_code == 202 and time.monotonic() - started < 5
    inbound = InboundEmail.objects.get()
    assert inbound.state == InboundEmailState.FAILED and "too many MIME parts" in inbound.error
    assert not Message.objects.exists()


def test_mime_parts_nested_too_deep_are_refused(settings):
    result = mail.receive_email(nested_bomb(settings.INBOUND_EMAIL_MAX_DEPTH + 2))
    inbound = InboundEmail.objects.get()
    assert result.message is None and inbound.state == InboundEmailState.FAILED
    assert "nested too deep" in inbound.error and not Message.objects.exists()


# --- a crash between storing and reading ----------------------------------------------------------


def test_a_raw_mail_stored_before_a_crash_is_read_by_the_sweep(applicant_ticket, settings):
    inbound, created = mail.store_raw(eml("gmail_reply_en_with_screenshot.eml"))  # the worker then died
    assert created and inbound.state == InboundEmailState.PENDING
    InboundEmail.objects.filter(pk=inbound.pk).update(
        received_at=inbound.received_at - timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS + 1)
    )
    tasks.sweep_outbox()
    inbound.refresh_from_db()
    assert inbound.state == InboundEmailState.STORED and inbound.message.ticket == applicant_ticket


def test_the_same_message_id_posted_twice_is_stored_once(client, settings, applicant_ticket):
    settings.INBOUND_EMAIL_SECRET = SECRET
    raw = eml("gmail_reply_en_with_screenshot.eml")
    assert post_email(client, raw).status_code == 202
    again = post_email(client, raw)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert InboundEmail.objects.count() == 1
