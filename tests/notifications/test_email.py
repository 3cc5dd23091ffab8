"""Email both ways: outbound over SMTP (aiosmtpd), inbound from real-world .eml replies."""

import pytest
from django.core.management import call_command

from notifications import mail, services
from notifications.models import Direction, Message, MessageStatus
from tests.factories import TicketFactory, ticket_in_state
from tests.notifications.conftest import OUTBOUND_MESSAGE_ID, REFERENCE, eml
from tickets.models import Evidence, State, Ticket

pytestmark = pytest.mark.django_db


# --- outbound -------------------------------------------------------------------------------------


def _email_reply(run_on_commit, alice, ticket, body="Kuota Anda sudah dipulihkan."):
    return run_on_commit(services.send_reply, ticket=ticket, author=alice, channel="email", body=body)


def test_reply_is_mailed_with_reference_and_the_recorded_message_id(smtp_server, run_on_commit, alice):
    ticket = TicketFactory()
    message = _email_reply(run_on_commit, alice, ticket)
    (received,) = smtp_server.messages
    message.refresh_from_db()
    assert received.rcpt_tos == [ticket.email]
    assert f"[{ticket.reference}]" in received.message["Subject"]
    assert received.message["Message-ID"] == message.provider_id and message.status == MessageStatus.SENT
    assert "Kuota Anda sudah dipulihkan." in received.message.get_content()


def test_reply_is_threaded_to_the_last_email_of_the_ticket(smtp_server, run_on_commit, alice):
    ticket = TicketFactory()
    first = _email_reply(run_on_commit, alice, ticket, "Satu")
    second = _email_reply(run_on_commit, alice, ticket, "Dua")
    first.refresh_from_db()
    second.refresh_from_db()
    threaded = smtp_server.messages[1].message
    assert threaded["In-Reply-To"] == first.provider_id
    assert first.provider_id in threaded["References"]
    assert smtp_server.messages[0].message["In-Reply-To"] is None


def test_temporary_smtp_refusal_is_retried_and_mailed_once(smtp_server, run_on_commit, alice):
    smtp_server.fail_next(2, code=451)
    message = _email_reply(run_on_commit, alice, TicketFactory())
    message.refresh_from_db()
    assert len(smtp_server.messages) == 1 and message.attempts == 3 and message.status == MessageStatus.SENT
    assert smtp_server.messages[0].message["Message-ID"] == message.provider_id  # the same on every attempt


def test_permanent_smtp_refusal_fails_the_message(smtp_server, run_on_commit, alice):
    smtp_server.fail_next(1, code=550)
    message = _email_reply(run_on_commit, alice, TicketFactory())
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.error_code == "550"
    assert smtp_server.messages == []


def test_internal_note_never_reaches_the_applicant(smtp_server, twilio_double, run_on_commit, alice):
    ticket = TicketFactory()
    note = run_on_commit(
        services.send_reply, ticket=ticket, author=alice, channel="note", body="Cek NIK dulu"
    )
    assert note.is_internal and smtp_server.messages == [] and twilio_double.messages == []
    assert not ticket.messages.public().exists()


def test_notifications_go_to_both_channels_in_the_applicants_language(
    smtp_server, twilio_double, run_on_commit
):
    ticket = TicketFactory(language="en")
    run_on_commit(services.notify, ticket=ticket, event="closed")
    assert "is closed" in smtp_server.messages[0].message.get_content()
    assert "is closed" in twilio_double.messages[0]["form"]["Body"]
    TicketFactory(language="id")
    other = TicketFactory(language="id")
    run_on_commit(services.notify, ticket=other, event="closed")
    assert "ditutup" in smtp_server.messages[1].message.get_content().lower()


# --- inbound --------------------------------------------------------------------------------------


@pytest.fixture
def thread_ticket(db):
    """A ticket awaiting information, with the outbound email the fixtures reply to."""
    ticket = ticket_in_state(State.AWAITING_INFO, reference=REFERENCE, email="pelapor@example.com")
    Message.objects.create(
        ticket=ticket,
        direction=Direction.OUTBOUND,
        channel="email",
        provider_id=OUTBOUND_MESSAGE_ID,
        status="sent",
    )
    return ticket


def applicant_of(ticket, raw):
    """Make the fixture's sender the ticket's applicant, as a genuine reply is."""
    sender = mail.sender_of(mail.parse(raw, headers_only=True))
    Ticket.objects.filter(pk=ticket.pk).update(email=sender)
    return raw


@pytest.mark.parametrize(
    "fixture, expected",
    [
        (
            "gmail_reply_id.eml",
            "Selamat pagi, nomor seri yang gagal adalah 1A2B3C4D5E6F7G8H9J0K1L.\n"
            "Dokumennya surat lamaran CPNS.",
        ),
        ("gmail_reply_en_with_screenshot.eml", "Hi, here is the screenshot of my stamping history."),
        ("outlook_reply_en.eml", "The order id is INV/2026/11/0042, paid by QRIS.\n\nRegards,\nAndi"),
        ("outlook_reply_id.eml", "Baik, kuota saya sudah kembali. Terima kasih banyak atas bantuannya."),
        ("outlook_original_message_id.eml", "Nomor pesanan saya INV/2026/11/0077."),
        ("apple_mail_en.eml", "The document was my CPNS application letter."),
        ("apple_mail_id.eml", "Sudah saya kirim ulang tangkapan layarnya."),
    ],
)
def test_replies_join_their_ticket_with_quoted_history_stripped(thread_ticket, fixture, expected):
    result = mail.receive_email(applicant_of(thread_ticket, eml(fixture)))
    message = result.message
    assert message.ticket == thread_ticket and message.direction == Direction.INBOUND
    assert message.body == expected
    thread_ticket.refresh_from_db()
    assert thread_ticket.state == State.IN_REVIEW  # info_received


def test_reply_threads_by_in_reply_to_even_without_the_reference(thread_ticket):
    raw = applicant_of(thread_ticket, eml("apple_mail_en.eml").replace(b"[EMT-7K3M9QX] ", b""))
    assert mail.receive_email(raw).message.ticket == thread_ticket


def test_image_attachment_becomes_evidence_and_a_pdf_does_not(thread_ticket):
    result = mail.receive_email(applicant_of(thread_ticket, eml("gmail_reply_en_with_screenshot.eml")))
    evidence = Evidence.objects.get()
    assert (evidence.ticket, evidence.message, evidence.source) == (thread_ticket, result.message, "email")
    assert evidence.original_name == "riwayat-stamping.png"


def test_same_message_id_is_stored_once(thread_ticket):
    first = mail.receive_email(applicant_of(thread_ticket, eml("gmail_reply_en_with_screenshot.eml")))
    again = mail.receive_email(eml("gmail_reply_en_with_screenshot.eml"))
    assert again.duplicate and again.message == first.message
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1 and Evidence.objects.count() == 1


def test_html_only_mail_from_an_unknown_sender_opens_a_ticket(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        result = mail.receive_email(eml("html_only_new_sender.eml"))
    ticket = result.message.ticket
    assert (ticket.category, ticket.channel, ticket.email, ticket.full_name) == (
        "other",
        "email",
        "admin@majujaya.co.id",
        "PT Maju Jaya",
    )
    assert "Kuota 5 meterai kami terpotong" in result.message.body and "<p>" not in result.message.body
    confirmation = ticket.messages.get(direction=Direction.OUTBOUND)
    assert confirmation.event == "report_opened_email" and confirmation.status == MessageStatus.SENT


def test_an_unknown_sender_is_answered_with_the_report_form_prefilled(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = mail.receive_email(eml("html_only_new_sender.eml")).message.ticket
    confirmation = ticket.messages.get(direction=Direction.OUTBOUND)
    assert confirmation.event == "report_opened_email"
    assert "/report/?name=PT+Maju+Jaya&email=admin%40majujaya.co.id" in confirmation.body
    assert ticket.reference in confirmation.body and ticket.tracking_token in confirmation.body


def test_automatic_replies_are_ignored(thread_ticket):
    assert mail.receive_email(eml("auto_reply.eml")).ignored
    assert not Message.objects.filter(direction=Direction.INBOUND).exists()


def test_mail_without_a_sender_is_refused(db):
    with pytest.raises(mail.InvalidEmail):
        mail.receive_email(b"Subject: hi\n\nno sender")
    assert not Ticket.objects.exists()


def test_ingest_email_reads_standard_input(thread_ticket, monkeypatch, capsys):
    import io
    import sys

    raw = applicant_of(thread_ticket, eml("outlook_reply_en.eml"))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    call_command("ingest_email")
    assert f"on {REFERENCE}" in capsys.readouterr().out
    assert thread_ticket.messages.filter(direction=Direction.INBOUND).count() == 1


def test_email_webhook_needs_the_secret(client, thread_ticket, settings, django_capture_on_commit_callbacks):
    settings.INBOUND_EMAIL_SECRET = "s3cret-value"
    raw = applicant_of(thread_ticket, eml("apple_mail_id.eml"))
    wrong = client.post("/webhooks/email/", raw, content_type="message/rfc822", HTTP_X_INBOUND_SECRET="nope")
    assert wrong.status_code == 403 and not Message.objects.filter(direction=Direction.INBOUND).exists()
    with django_capture_on_commit_callbacks(execute=True):
        right = client.post(
            "/webhooks/email/", raw, content_type="message/rfc822", HTTP_X_INBOUND_SECRET="s3cret-value"
        )
    assert right.status_code == 202 and right.json()["duplicate"] is False
    assert thread_ticket.messages.get(direction=Direction.INBOUND).body
    again = client.post(
        "/webhooks/email/", raw, content_type="message/rfc822", HTTP_X_INBOUND_SECRET="s3cret-value"
    )
    assert again.status_code == 200 and again.json()["duplicate"] is True


def test_email_webhook_is_off_without_a_secret(client, settings):
    settings.INBOUND_EMAIL_SECRET = None
    answer = client.post("/webhooks/email/", b"x", content_type="message/rfc822", HTTP_X_INBOUND_SECRET="")
    assert answer.status_code == 404


def test_email_webhook_refuses_oversize_mail(client, settings):
    settings.INBOUND_EMAIL_SECRET = "s3cret-value"
    settings.INBOUND_EMAIL_MAX_BYTES = 1000
    raw = eml("gmail_reply_en_with_screenshot.eml")
    answer = client.post(
        "/webhooks/email/", raw, content_type="message/rfc822", HTTP_X_INBOUND_SECRET="s3cret-value"
    )
    assert answer.status_code == 413 and not Message.objects.exists()


def test_ingest_email_refuses_empty_input(db, monkeypatch):
    import io
    import sys

    from django.core.management.base import CommandError

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    with pytest.raises(CommandError):
        call_command("ingest_email")


def test_a_reply_to_a_closed_ticket_opens_a_new_one(thread_ticket):
    Ticket.objects.filter(pk=thread_ticket.pk).update(state=State.CLOSED)
    message = mail.receive_email(eml("apple_mail_en.eml")).message
    assert message.ticket != thread_ticket
    assert message.ticket.state == State.REPORTED and message.ticket.channel == "email"
    assert not thread_ticket.messages.filter(direction=Direction.INBOUND).exists()
