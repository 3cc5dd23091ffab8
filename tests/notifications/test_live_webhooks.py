"""Twilio's side of the conversation over real HTTP: its webhooks and status callbacks reach a live server."""

import pytest
from django.utils import timezone

from notifications import delivery, services
from notifications.models import Direction, Message, MessageStatus
from tests.doubles.twilio import APPLICANT_WHATSAPP
from tests.factories import ticket_in_state
from tickets.models import State

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def public(live_server, settings):
    settings.PUBLIC_BASE_URL = live_server.url
    return live_server.url


def test_inbound_message_and_status_callbacks_over_http(public, twilio_double):
    ticket = ticket_in_state(State.IN_REVIEW, whatsapp=APPLICANT_WHATSAPP.removeprefix("whatsapp:"))
    answer = twilio_double.post_webhook(
        f"{public}/webhooks/twilio/whatsapp/", twilio_double.inbound_form("Halo")
    )
    assert answer.status_code == 200 and "<Response>" in answer.text
    assert Message.objects.get(direction=Direction.INBOUND).ticket == ticket

    ticket.refresh_from_db()
    assert ticket.last_inbound_at <= timezone.now()
    reply = services.send_reply(ticket=ticket, author=None, channel="whatsapp", body="Terima kasih")
    delivery.deliver(message_id=reply.pk)
    reply.refresh_from_db()
    for status in ("delivered", "sent", "read", "delivered"):  # Twilio does not promise the order
        assert twilio_double.send_status_callback(reply.provider_id, status).status_code == 200
    reply.refresh_from_db()
    assert reply.status == MessageStatus.READ


def test_forged_webhook_over_http_is_refused(public, twilio_double):
    form = twilio_double.inbound_form("Halo")
    answer = twilio_double.post_webhook(
        f"{public}/webhooks/twilio/whatsapp/",
        form,
        signed_url="https://attacker.example/webhooks/twilio/whatsapp/",
    )
    assert answer.status_code == 403 and not Message.objects.exists()
