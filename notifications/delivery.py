"""Claim, send and record outbound messages so that none is sent twice."""

from django.utils import timezone

from notifications.channels import channel_for
from notifications.models import Message, MessageStatus


def deliver(*, message_id):
    """Send one queued message if no other worker has claimed it; record the provider's id."""
    now = timezone.now()
    claimed = Message.objects.filter(pk=message_id, status=MessageStatus.QUEUED, claimed_at=None).update(
        claimed_at=now
    )
    if not claimed:
        return False
    message = Message.objects.select_related("ticket").get(pk=message_id)
    message.attempts += 1
    provider_id = channel_for(message.channel).send(message)
    message.provider_id = provider_id or ""
    message.advance_status(MessageStatus.SENT)
    message.sent_at = timezone.now()
    message.save(update_fields=["provider_id", "status", "sent_at", "attempts"])
    return True


def release(*, message_id, error):
    """A transient failure: let the next attempt claim the message again."""
    Message.objects.filter(pk=message_id, status=MessageStatus.QUEUED).update(
        claimed_at=None, error_code=getattr(error, "code", "") or "", error_message=str(error)[:2000]
    )


def mark_failed(*, message_id, error):
    Message.objects.filter(pk=message_id).exclude(status=MessageStatus.FAILED).update(
        status=MessageStatus.FAILED,
        error_code=getattr(error, "code", "") or "",
        error_message=str(error)[:2000],
    )
