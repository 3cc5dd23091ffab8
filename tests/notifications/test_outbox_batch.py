"""The messages one transaction queues reach the broker in one publish, after commit."""

import pytest
from django.db import transaction

from notifications import services
from notifications.models import MessageStatus
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_two_notifications_in_one_transaction_make_one_hand_off(django_capture_on_commit_callbacks):
    ticket = TicketFactory(email="siti@example.com", whatsapp="+6281234567890")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.notify(ticket=ticket, event="closed")
        services.notify(ticket=ticket, event="closed")
    assert len(callbacks) == 1
    assert list(ticket.messages.values_list("status", flat=True)) == [MessageStatus.SENT] * 4


def test_a_rolled_back_savepoint_leaves_a_fresh_hand_off_for_what_follows(django_capture_on_commit_callbacks):
    ticket = TicketFactory(email="siti@example.com", whatsapp="")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(RuntimeError), transaction.atomic():
            services.notify(ticket=ticket, event="closed")
            raise RuntimeError("rolled back")
        services.notify(ticket=ticket, event="closed")
    assert len(callbacks) == 1
    assert list(ticket.messages.values_list("status", flat=True)) == [MessageStatus.SENT]
