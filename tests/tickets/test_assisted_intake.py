"""Assisted intake in the console: a report taken for a caller on the phone, a message-opened ticket completed."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from notifications.models import Direction, Message, MessageChannel
from tests.factories import ticket_in_state
from tickets.models import Category, SerialNumber, State, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("staff_in_english")]

CALLER = "/admin/tickets/ticket/caller/"
NIK = "3171014501900003"
SERIAL = "1A2B3C4D5E6F7G8H9J0K1L"


def _screenshot():
    buffer = io.BytesIO()
    Image.new("RGB", (390, 844), "navy").save(buffer, "PNG")
    return SimpleUploadedFile("riwayat.png", buffer.getvalue(), content_type="image/png")


def _caller(**overrides):
    form = {
        "category": "stamp_failed",
        "full_name": "Siti Aminah",
        "nik": NIK,
        "email": "siti@example.com",
        "whatsapp": "0812 3456 7890",
        "preferred_channel": "whatsapp",
        "language": "id",
        "serial_numbers": SERIAL,
        "quota_lost": "2",
        "consent": "on",
        "evidence": _screenshot(),
    }
    form.update(overrides)
    return {key: value for key, value in form.items() if value is not None}


def test_agent_opens_a_report_for_a_caller_with_consent_recorded(client, alice):
    client.force_login(alice)
    answer = client.post(CALLER, _caller())
    ticket = Ticket.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/admin/tickets/ticket/{ticket.pk}/change/"
    assert (ticket.channel, ticket.category, ticket.nik, ticket.whatsapp) == (
        "phone",
        "stamp_failed",
        NIK,
        "+6281234567890",
    )
    assert list(ticket.serials.values_list("value", flat=True)) == [SERIAL] and ticket.evidence.count() == 1
    log = ticket.transitions.get(name="report")
    assert log.actor == alice and log.actor_kind == "staff"
    assert "Consent" in log.note and "alice" in log.note and ticket.consent_at is not None


def test_the_caller_is_told_the_reference_on_the_channel_they_chose_only(client, alice):
    client.force_login(alice)
    client.post(CALLER, _caller(preferred_channel="email"))
    ticket = Ticket.objects.get()
    [confirmation] = Message.objects.filter(direction=Direction.OUTBOUND)
    assert (confirmation.channel, confirmation.event) == (MessageChannel.EMAIL, "report_received")
    assert ticket.reference in confirmation.body and ticket.tracking_token in confirmation.body


def test_without_the_callers_consent_nothing_is_stored(client, alice):
    client.force_login(alice)
    answer = client.post(CALLER, _caller(consent=None))
    assert answer.status_code == 400 and b"consent is needed" in answer.content
    assert not Ticket.objects.exists()


def test_a_wrong_nik_gets_the_forms_message_and_nothing_is_stored(client, alice):
    client.force_login(alice)
    answer = client.post(CALLER, _caller(nik="12345"))
    assert answer.status_code == 400 and b"The NIK must have 16 digits." in answer.content
    assert not Ticket.objects.exists()


def test_a_stamp_failed_report_needs_a_screenshot_or_a_request_for_one(client, alice):
    client.force_login(alice)
    assert client.post(CALLER, _caller(evidence=None)).status_code == 400
    assert client.post(CALLER, _caller(evidence=None, request_evidence="on")).status_code == 302
    ticket = Ticket.objects.get()
    request = Message.objects.get(event="evidence_requested")
    assert (request.ticket, request.channel) == (ticket, MessageChannel.WHATSAPP)


def test_only_agents_open_reports_for_callers(client, fin):
    client.force_login(fin)
    assert client.post(CALLER, _caller()).status_code == 403
    assert not Ticket.objects.exists()


# --- a message-opened ticket completed into a report ---------------------------------------------------


def _message_ticket():
    ticket = ticket_in_state(
        State.REPORTED,
        category=Category.OTHER,
        nik="",
        email="",
        quota_lost=None,
        document_name="",
        channel="whatsapp",
        consent_at=timezone.now(),  # as open_ticket records it: the applicant wrote to us about it
    )
    Message.objects.create(
        ticket=ticket, direction=Direction.INBOUND, channel="whatsapp", body="Kuota saya hilang"
    )
    return ticket


def test_agent_completes_a_message_opened_ticket_into_a_report_keeping_its_conversation(client, alice):
    ticket = _message_ticket()
    client.force_login(alice)
    form = _caller(consent=None, whatsapp=ticket.whatsapp, full_name=ticket.full_name)
    answer = client.post(f"/admin/tickets/ticket/{ticket.pk}/complete/", form)
    assert answer.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.category, ticket.nik, ticket.quota_lost, ticket.channel) == (
        "stamp_failed",
        NIK,
        2,
        "whatsapp",
    )
    assert SerialNumber.objects.get(ticket=ticket).value == SERIAL and ticket.evidence.count() == 1
    assert ticket.messages.filter(body="Kuota saya hilang").exists()
    assert ticket.verification.outcome in ("pending", "unknown")  # then checked as any report
    assert ticket.transitions.get(name="complete_report").actor == alice


def test_completing_checks_the_report_rules(client, alice):
    ticket = _message_ticket()
    client.force_login(alice)
    answer = client.post(f"/admin/tickets/ticket/{ticket.pk}/complete/", _caller(serial_numbers="ABC"))
    assert answer.status_code == 400 and b"Serial numbers have 22 digits" in answer.content
    ticket.refresh_from_db()
    assert ticket.category == Category.OTHER and not ticket.serials.exists()


def test_a_report_that_is_not_other_cannot_be_completed(client, alice):
    ticket = ticket_in_state(State.REPORTED, category=Category.STAMP_FAILED)
    client.force_login(alice)
    answer = client.post(f"/admin/tickets/ticket/{ticket.pk}/complete/", _caller(whatsapp=ticket.whatsapp))
    assert answer.status_code == 302
    ticket.refresh_from_db()
    assert ticket.nik != NIK and not ticket.transitions.filter(name="complete_report").exists()
