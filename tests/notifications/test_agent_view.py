"""What agents see of the conversation: replies from the console delivered, statuses and errors in words."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework.test import APIClient

from notifications.models import Message, MessageStatus
from tests.factories import ticket_in_state
from tests.notifications.conftest import post_twilio
from tickets.models import State

pytestmark = pytest.mark.django_db


def _reply_from_console(client, ticket, django_capture_on_commit_callbacks, channel="whatsapp"):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:tickets_ticket_reply", args=[ticket.pk]), {"channel": channel, "body": "Halo"}
        )
    return ticket.messages.get(event="agent_reply")


def test_console_reply_is_delivered_and_its_status_followed(
    client, alice, twilio_double, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    ticket = ticket_in_state(State.IN_REVIEW, last_inbound_at=timezone.now() - timedelta(minutes=5))
    message = _reply_from_console(client, ticket, django_capture_on_commit_callbacks)
    assert message.status == MessageStatus.SENT and message.provider_id == twilio_double.messages[0]["sid"]
    form = twilio_double.status_form(message.provider_id, "read")
    post_twilio(client, twilio_double, f"/webhooks/twilio/status/?message={message.pk}", form)
    message.refresh_from_db()
    assert message.status == MessageStatus.READ and message.read_at is not None


def test_failed_delivery_is_explained_on_the_ticket_page_api_and_outbox(
    client, alice, twilio_double, django_capture_on_commit_callbacks
):
    client.force_login(alice)
    ticket = ticket_in_state(State.IN_REVIEW)
    twilio_double.fail_next(400)  # 21211
    message = _reply_from_console(client, ticket, django_capture_on_commit_callbacks)
    assert message.status == MessageStatus.FAILED
    with translation.override("en"):
        words = str(message.error_text)
    page = client.get(
        reverse("admin:tickets_ticket_change", args=[ticket.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert words in page
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(alice)
    detail = api.get(f"/api/v1/tickets/{ticket.reference}/").json()
    (sent,) = [m for m in detail["messages"] if m["id"] == message.pk]
    assert (sent["status"], sent["error_code"], sent["error_text"]) == ("failed", "21211", words)
    outbox = client.get(reverse("admin:notifications_message_changelist"), {"status__exact": "failed"})
    assert outbox.status_code == 200 and ticket.reference in outbox.content.decode()


def test_outbox_is_read_only(client, alice, sam):
    client.force_login(sam)
    message = Message.objects.create(
        ticket=ticket_in_state(State.IN_REVIEW), direction="out", channel="email"
    )
    assert client.get(reverse("admin:notifications_message_change", args=[message.pk])).status_code == 200
    assert client.get(reverse("admin:notifications_message_add")).status_code == 403


def test_outbox_list_query_count_is_bounded(client, sam, django_assert_max_num_queries):
    client.force_login(sam)
    for _ in range(15):
        Message.objects.create(ticket=ticket_in_state(State.IN_REVIEW), direction="out", channel="email")
    with django_assert_max_num_queries(12):
        assert client.get(reverse("admin:notifications_message_changelist")).status_code == 200
