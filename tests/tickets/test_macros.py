"""Macros (a canned reply that also takes a workflow step) and images attached to staff replies."""

import io

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from notifications.channels import WhatsAppChannel
from notifications.models import CannedReply, Message
from tests.factories import ticket_in_state
from tickets.models import Evidence, State

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("staff_in_english", "remedies_paused")]


def reply_url(ticket):
    return reverse("admin:tickets_ticket_reply", args=[ticket.pk])


def png_upload(name="contoh.png"):
    out = io.BytesIO()
    Image.new("RGB", (120, 80), (30, 120, 200)).save(out, "PNG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/png")


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def ask_serial(db):
    return CannedReply.objects.create(
        title="Minta nomor seri",
        transition="request_info",
        body_id="Halo {name}, mohon kirim nomor seri.",
        body_en="Hello {name}, please send the serial number.",
    )


def test_a_macro_names_only_a_transition_staff_can_take():
    for name in ("remedy_applied", "no_such_step"):
        with pytest.raises(ValidationError):
            CannedReply(title="x", body_id="a", body_en="b", transition=name).full_clean()
    CannedReply(title="x", body_id="a", body_en="b", transition="request_info").full_clean()


def test_ask_for_the_serial_number_macro_asks_the_applicant_and_waits(as_alice, ask_serial):
    ticket = ticket_in_state(State.IN_REVIEW, full_name="Dewi")
    as_alice.post(reply_url(ticket), {"channel": "whatsapp", "canned": ask_serial.pk})
    ticket.refresh_from_db()
    assert ticket.state == State.AWAITING_INFO
    asked = ticket.messages.filter(event="info_requested")
    assert asked.exists() and all("Halo Dewi, mohon kirim nomor seri." in m.body for m in asked)
    assert not ticket.messages.filter(event="agent_reply").exists()  # asked once, not twice
    assert ticket.transitions.get(name="request_info").note.startswith("Minta nomor seri")


def test_a_macro_without_a_message_parameter_sends_the_reply_and_takes_the_step(as_alice):
    macro = CannedReply.objects.create(
        title="Sedang diperiksa", transition="start_review", body_id="Sedang kami periksa.", body_en="x"
    )
    ticket = ticket_in_state(State.REPORTED)
    as_alice.post(reply_url(ticket), {"channel": "email", "canned": macro.pk})
    ticket.refresh_from_db()
    assert ticket.state == State.IN_REVIEW
    assert "Sedang kami periksa." in ticket.messages.get(event="agent_reply").body


def test_a_macro_refused_in_this_state_sends_nothing(as_alice, ask_serial):
    ticket = ticket_in_state(State.AWAITING_APPROVAL)
    as_alice.post(reply_url(ticket), {"channel": "whatsapp", "canned": ask_serial.pk})
    ticket.refresh_from_db()
    assert ticket.state == State.AWAITING_APPROVAL
    assert not Message.objects.filter(ticket=ticket).exists()


def test_an_image_on_an_email_reply_is_stored_and_attached(as_alice, django_capture_on_commit_callbacks):
    ticket = ticket_in_state(State.IN_REVIEW)
    with django_capture_on_commit_callbacks(execute=True):
        as_alice.post(
            reply_url(ticket), {"channel": "email", "body": "Lihat contoh ini", "image": png_upload()}
        )
    message = ticket.messages.get(event="agent_reply")
    image = message.evidence.get()
    assert image.source == Evidence.Source.STAFF and image.content_type == "image/png"
    sent = [email for email in mail.outbox if "Lihat contoh ini" in email.body]
    assert sent and sent[0].attachments and sent[0].attachments[0][2] == "image/png"


def test_an_image_on_a_whatsapp_reply_is_sent_as_media_through_the_tracking_link(as_alice):
    ticket = ticket_in_state(State.IN_REVIEW)
    as_alice.post(reply_url(ticket), {"channel": "whatsapp", "body": "Contoh", "image": png_upload()})
    message = ticket.messages.get(event="agent_reply")
    item = message.evidence.get()
    assert WhatsAppChannel().payload(message)["media_url"] == [
        f"{settings.PUBLIC_BASE_URL}/status/{ticket.reference}/evidence/{item.pk}/?token={ticket.tracking_token}"
    ]


def test_staff_images_never_flag_duplicates(as_alice):
    first, second = ticket_in_state(State.IN_REVIEW), ticket_in_state(State.IN_REVIEW)
    for ticket in (first, second):
        as_alice.post(reply_url(ticket), {"channel": "note", "body": "contoh", "image": png_upload()})
        ticket.refresh_from_db()
        assert not ticket.possible_duplicate


def test_a_reply_with_a_file_that_is_not_an_image_is_refused_and_stores_nothing(as_alice):
    ticket = ticket_in_state(State.IN_REVIEW)
    fake = SimpleUploadedFile("x.png", b"not an image at all", content_type="image/png")
    response = as_alice.post(
        reply_url(ticket), {"channel": "email", "body": "Halo", "image": fake}, follow=True
    )
    assert any("image was refused" in str(m) for m in response.context["messages"])
    assert not ticket.messages.exists() and not Evidence.objects.filter(ticket=ticket).exists()


def test_the_macro_image_rides_on_the_transitions_notification(as_alice, ask_serial):
    ticket = ticket_in_state(State.IN_REVIEW)
    as_alice.post(reply_url(ticket), {"channel": "email", "canned": ask_serial.pk, "image": png_upload()})
    asked = ticket.messages.get(event="info_requested", channel="email")
    assert asked.evidence.count() == 1
