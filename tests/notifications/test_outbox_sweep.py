"""The outbox sweep re-queues only messages that no task holds: a backlog in the broker is left alone."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from notifications import delivery, services
from notifications.models import Message, MessageStatus
from notifications.tasks import sweep_outbox
from tests.factories import TicketFactory
from tests.notifications.conftest import UNREACHABLE_BROKER

pytestmark = pytest.mark.django_db


def backlog(count):
    """Messages committed and handed to the broker, whose tasks wait behind others (not run here)."""
    ticket = TicketFactory(email="")
    return [
        services.send_reply(ticket=ticket, author=None, channel="whatsapp", body=f"Pesan {index}").pk
        for index in range(count)
    ]


def later(seconds):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=False)


def test_a_backlog_handed_over_recently_is_not_queued_again(twilio_double):
    backlog(40)
    with later(120):
        assert sweep_outbox() == 0
    assert twilio_double.messages == []


def test_a_backlog_is_queued_again_once_its_hand_over_lease_has_passed(twilio_double, settings):
    waiting = backlog(40)
    with later(settings.OUTBOX_HANDOVER_LEASE_SECONDS - 30):
        fresh = backlog(3)
    with later(settings.OUTBOX_HANDOVER_LEASE_SECONDS + 1):
        assert delivery.due_for_sweep() == waiting
        assert sweep_outbox() == 40
    assert Message.objects.filter(pk__in=waiting, status=MessageStatus.SENT).count() == 40
    assert Message.objects.filter(pk__in=fresh, status=MessageStatus.QUEUED).count() == 3
    assert len(twilio_double.messages) == 40


def test_a_message_queued_again_by_the_sweep_is_not_queued_again_at_the_next_sweep(settings):
    (message_id,) = backlog(1)
    lease = settings.OUTBOX_HANDOVER_LEASE_SECONDS
    with later(lease + 1):
        assert delivery.due_for_sweep() == [message_id]
        delivery.hand_over_again([message_id])  # what the sweep does before it publishes
    with later(lease + 61):
        assert delivery.due_for_sweep() == []
    with later(2 * lease + 2):
        assert delivery.due_for_sweep() == [message_id]


def test_messages_whose_hand_off_failed_are_swept_after_the_grace(
    settings, django_capture_on_commit_callbacks, broker_at
):
    with broker_at(UNREACHABLE_BROKER), django_capture_on_commit_callbacks(execute=True):
        message_ids = backlog(2)
    assert set(Message.objects.filter(pk__in=message_ids).values_list("handed_over_at", flat=True)) == {None}
    with later(settings.OUTBOX_SWEEP_GRACE_SECONDS + 1):
        assert delivery.due_for_sweep() == message_ids
