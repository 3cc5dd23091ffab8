"""OUTBOX_RELAY on: a request only commits its outbox rows; the relay hands them to the workers, once."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from notifications import delivery, relay, services
from notifications.models import Message, MessageStatus
from tests.factories import TicketFactory
from tests.notifications.conftest import UNREACHABLE_BROKER

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def relay_on(settings):
    settings.OUTBOX_RELAY = True


def notify_both(count=1):
    tickets = [
        TicketFactory(email=f"siti{n}@example.com", whatsapp=f"+62812345678{n:02d}") for n in range(count)
    ]
    for ticket in tickets:
        services.notify(ticket=ticket, event="closed")
    return Message.objects.filter(ticket__in=tickets)


def test_the_request_only_commits_the_rows_and_the_relay_sends_each_once(
    twilio_double, smtp_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        messages = notify_both(3)
    assert callbacks == []  # nothing for the broker at commit
    assert set(messages.values_list("handed_over_at", flat=True)) == {None}

    assert relay.relay_batch(limit=4) == 4  # the workers (eager here) send them
    assert relay.relay_batch(limit=4) == 2
    assert relay.relay_batch() == 0
    assert set(messages.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert len(twilio_double.messages) == 3 and len(smtp_server.messages) == 3


def test_a_publish_the_broker_refuses_leaves_the_batch_for_the_next_try(twilio_double, broker_at):
    messages = notify_both()
    with broker_at(UNREACHABLE_BROKER), pytest.raises(Exception):  # noqa: B017 - whatever kombu raises
        relay.relay_batch()
    assert set(messages.values_list("handed_over_at", flat=True)) == {None}  # rolled back
    assert relay.relay_batch() == 2
    assert len(twilio_double.messages) == 1


def test_the_sweep_leaves_relayed_messages_to_their_task_and_takes_over_when_no_relay_runs(
    settings, broker_at
):
    relayed = notify_both()
    with broker_at("memory://"):  # handed over; their task waits for a worker
        assert relay.relay_batch() == 2
    waiting = notify_both()
    later = timezone.now() + timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        swept = delivery.due_for_sweep()
    assert swept == sorted(waiting.values_list("pk", flat=True))
    assert not set(swept) & set(relayed.values_list("pk", flat=True))


def test_the_relay_command_needs_a_broker(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with pytest.raises(CommandError, match="broker"):
        call_command("relay_outbox", "--once")
