"""Claim, send and record outbound messages so that none is sent twice and none is lost.

A worker claims a queued message with a conditional update (`claimed_at` from NULL to now), sends it,
and records the provider's id at once in its own statement. What remains is the window between the
provider accepting a message and that statement: a worker killed there leaves a message claimed but
not sent. Such a stale claim (older than OUTBOX_CLAIM_TIMEOUT_SECONDS, far longer than any send can
take) is recovered deliberately:

- WhatsApp: Twilio's status callback carries our message id, so usually the message is already marked
  sent by the time anyone looks; otherwise Twilio's message list for that number since the claim is
  searched for our text, and only when it is not there is the message sent again.
- Email: the Message-ID is stored before sending, so a re-send carries the same Message-ID and mail
  clients thread (and usually collapse) the two copies.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from notifications.channels import ChannelError, channel_for, new_message_id
from notifications.models import Direction, Message, MessageChannel, MessageStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
DELIVERABLE = Q(direction=Direction.OUTBOUND, status=MessageStatus.QUEUED) & ~Q(
    channel__in=[MessageChannel.NOTE, MessageChannel.WEB]
)


def claim_timeout():
    return timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT_SECONDS)


class DeliveryError(Exception):
    """A failed send, with the claim it happened under (released only if it is still ours)."""

    def __init__(self, error, claimed_at, *, releasable=True):
        super().__init__(str(error))
        self.error = error
        self.claimed_at = claimed_at
        # A failed lookup after a crash keeps its stale claim, so the retry looks again before sending.
        self.releasable = releasable

    @property
    def permanent(self):
        return self.error.permanent


def deliver(*, message_id):
    """Send one queued message if nobody else holds it; returns what happened, for logs and tests."""
    now = timezone.now()
    claimed = Message.objects.filter(DELIVERABLE, pk=message_id, claimed_at=None).update(
        claimed_at=now, attempts=F("attempts") + 1
    )
    if claimed:
        return _send(message_id, now)
    return _recover_stale(message_id)


def _send(message_id, claimed_at):
    message = Message.objects.select_related("ticket").get(pk=message_id)
    if message.channel == MessageChannel.EMAIL and not message.provider_id:
        message.provider_id = new_message_id()  # fixed before sending: a re-send keeps it
        Message.objects.filter(pk=message_id).update(provider_id=message.provider_id)
    try:
        provider_id = channel_for(message.channel).send(message)
    except ChannelError as error:
        raise DeliveryError(error, claimed_at) from error
    record_sent(message_id=message_id, provider_id=provider_id)
    return "sent"


def _recover_stale(message_id):
    """A message claimed long ago and never recorded as sent: find it at the provider, or send again."""
    stale_before = timezone.now() - claim_timeout()
    message = (
        Message.objects.filter(DELIVERABLE, pk=message_id, claimed_at__lt=stale_before)
        .select_related("ticket")
        .first()
    )
    if message is None:
        return "not-mine"  # sent, failed, or another worker holds a fresh claim
    if message.channel == MessageChannel.WHATSAPP and message.provider_id:
        record_sent(message_id=message_id, provider_id=message.provider_id)  # a status callback told us
        return "found"
    if message.attempts >= MAX_ATTEMPTS:
        mark_failed(message_id=message_id, error=ChannelError("gave up after stale claims", code="unknown"))
        return "failed"
    try:
        found = channel_for(message.channel).find_sent(message, since=message.claimed_at)
    except ChannelError as error:
        raise DeliveryError(error, message.claimed_at, releasable=False) from error
    if found:
        log.info("message %s was sent before a crash (%s); recorded, not re-sent", message_id, found)
        record_sent(message_id=message_id, provider_id=found)
        return "found"
    now = timezone.now()
    reclaimed = Message.objects.filter(DELIVERABLE, pk=message_id, claimed_at=message.claimed_at).update(
        claimed_at=now, attempts=F("attempts") + 1
    )
    if not reclaimed:
        return "not-mine"
    log.warning(
        "message %s: stale claim from %s, not found at the provider; sending again",
        message_id,
        message.claimed_at,
    )
    return _send(message_id, now)


def record_sent(*, message_id, provider_id):
    """Record the provider's id and `sent`; a status callback may already have moved it further."""
    now = timezone.now()
    updated = Message.objects.filter(pk=message_id, status=MessageStatus.QUEUED).update(
        status=MessageStatus.SENT, provider_id=provider_id or "", sent_at=now, error_code="", error_message=""
    )
    if not updated and provider_id:
        Message.objects.filter(pk=message_id, provider_id="").update(provider_id=provider_id, sent_at=now)


def release(*, message_id, error, retry_in):
    """A transient failure: the next attempt (not before `retry_in` seconds) may claim the message."""
    if not error.releasable:
        return
    now = timezone.now()
    Message.objects.filter(DELIVERABLE, pk=message_id, claimed_at=error.claimed_at).update(
        claimed_at=None,
        handed_over_at=now,  # the retry is with the broker, due at next_attempt_at
        next_attempt_at=now + timedelta(seconds=retry_in),
        error_code=error.error.code,
        error_message=str(error.error)[:2000],
    )


def mark_failed(*, message_id, error):
    """Permanent failure or retries exhausted: the agent sees the message failed, and why."""
    error = getattr(error, "error", error)
    Message.objects.filter(DELIVERABLE, pk=message_id).update(
        status=MessageStatus.FAILED,
        error_code=getattr(error, "code", "") or "",
        error_message=str(error)[:2000],
    )


def handover_lease():
    return timedelta(seconds=settings.OUTBOX_HANDOVER_LEASE_SECONDS)


def due_for_sweep(now=None):
    """Ids of queued messages no task holds: never handed to the broker, or handed over (or due for a
    retry) longer ago than the hand-over lease and still not claimed, or claimed by a worker that died.

    A backlog waiting in the broker is left alone: its tasks hold it until the lease passes.
    """
    now = now or timezone.now()
    grace = now - timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)
    lease_passed = now - handover_lease()
    never_handed = Q(claimed_at=None, handed_over_at=None, created_at__lt=grace)
    lapsed = Q(claimed_at=None, handed_over_at__lt=lease_passed) & (
        Q(next_attempt_at=None) | Q(next_attempt_at__lt=lease_passed)
    )
    stale_before = now - claim_timeout()
    stale = Q(claimed_at__lt=stale_before) & (Q(handed_over_at=None) | Q(handed_over_at__lt=stale_before))
    return list(
        Message.objects.filter(DELIVERABLE)
        .filter(never_handed | lapsed | stale)
        .order_by("id")
        .values_list("id", flat=True)[:500]
    )


def hand_over_again(message_ids):
    """Mark messages as handed to the broker now, just before the sweep publishes their tasks again."""
    Message.objects.filter(pk__in=message_ids).update(handed_over_at=timezone.now())
