"""The outbox relay (OUTBOX_RELAY on): committed messages handed to the delivery workers by a process of
their own, so that the request that wrote them never talks to the broker.

With the relay on, a request only INSERTs its messages (`handed_over_at` empty). `manage.py
relay_outbox` drains them: it locks a batch of committed, never handed-over messages (`FOR UPDATE SKIP
LOCKED`, so several relays share the work without taking the same rows), marks them handed over,
publishes one task for the batch, and only then commits. So:
- a relay killed before its commit leaves the rows as they were (its transaction rolls back, its locks
  go), and the next relay hands them over: nothing is lost;
- a relay killed after publishing but before committing may lead to a second task for the same
  messages; the delivery's conditional claim (notifications.delivery) sends each message once anyway;
- a broker that refuses the publish rolls the batch back, to be tried again.
If no relay runs, the outbox sweep still hands the messages over after OUTBOX_SWEEP_GRACE_SECONDS.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications.delivery import DELIVERABLE
from notifications.models import Message

log = logging.getLogger(__name__)


def relay_batch(limit=None):
    """Hand one batch of committed, never handed-over messages to the workers; returns how many."""
    limit = limit or settings.OUTBOX_RELAY_BATCH
    with transaction.atomic():
        message_ids = list(
            Message.objects.filter(DELIVERABLE, claimed_at=None, handed_over_at=None)
            .order_by("id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if not message_ids:
            return 0
        Message.objects.filter(pk__in=message_ids).update(handed_over_at=timezone.now())
        _publish(message_ids)  # inside the transaction: a failed publish rolls the marks back
    return len(message_ids)


def _publish(message_ids):
    from notifications.tasks import deliver_message, deliver_messages

    if len(message_ids) == 1:
        deliver_message.delay(message_ids[0])
    else:
        deliver_messages.delay(message_ids)
