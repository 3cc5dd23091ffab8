"""Delivery of the outbox and fetching of inbound media: thin tasks that reload rows and call services."""

import logging

from celery import shared_task

from notifications import delivery, guided, inbound, mail
from notifications.delivery import DeliveryError

log = logging.getLogger(__name__)

MAX_RETRIES = 8


def retry_delay(retries):
    """Seconds before retry number `retries + 1`: 5, 10, 20 ... at most 10 minutes."""
    return min(5 * 2**retries, 600)


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def deliver_message(self, message_id):
    """Send one outbox message; 429, 5xx, network and SMTP 4xx errors retry with backoff."""
    try:
        return delivery.deliver(message_id=message_id)
    except DeliveryError as exc:
        if exc.permanent or self.request.retries >= self.max_retries:
            delivery.mark_failed(message_id=message_id, error=exc)
            return "failed"
        countdown = retry_delay(self.request.retries)
        delivery.release(message_id=message_id, error=exc, retry_in=countdown)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(acks_late=True)
def deliver_messages(message_ids):
    """The messages one transaction queued (one publish from the web process): one task each."""
    for message_id in message_ids:
        deliver_message.delay(message_id)


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def fetch_inbound_media(self, message_id):
    """Download the media of an inbound WhatsApp message and keep the images as evidence."""
    try:
        inbound.fetch_pending_media(message_id=message_id)
    except inbound.MediaUnavailable as exc:
        if self.request.retries >= self.max_retries:
            inbound.give_up_media(message_id=message_id, error=str(exc))
            return
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries)) from exc


@shared_task(acks_late=True)
def read_inbound_email(inbound_id):
    """Read a stored raw email onto its ticket; a bomb is refused and the email marked failed."""
    mail.read_inbound(inbound_id=inbound_id)


@shared_task
def sweep_outbox():
    """Beat task: re-queue messages no task holds (lost, or their worker died), unfetched media and unread raw emails."""
    message_ids = delivery.due_for_sweep()
    delivery.hand_over_again(message_ids)
    for message_id in message_ids:
        deliver_message.delay(message_id)
    media_ids = inbound.media_due_for_sweep()
    for message_id in media_ids:
        fetch_inbound_media.delay(message_id)
    email_ids = mail.inbound_due_for_sweep()
    for inbound_id in email_ids:
        read_inbound_email.delay(inbound_id)
    if message_ids or media_ids or email_ids:
        log.info(
            "sweep_outbox re-queued %s messages, %s media downloads and %s unread emails",
            len(message_ids),
            len(media_ids),
            len(email_ids),
        )
    return len(message_ids) + len(media_ids) + len(email_ids)


@shared_task
def remind_idle_guided_reports():
    """Beat task: guided WhatsApp reports idle for a day are reminded once, then closed."""
    return guided.remind_and_close_idle()
