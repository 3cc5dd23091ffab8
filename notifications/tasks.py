"""Delivery of the outbox: thin tasks that claim a message, send it once, and record the outcome."""

from celery import shared_task

from notifications import delivery
from notifications.channels import ChannelError

MAX_RETRIES = 8


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def deliver_message(self, message_id):
    try:
        delivery.deliver(message_id=message_id)
    except ChannelError as exc:
        if exc.permanent or self.request.retries >= self.max_retries:
            delivery.mark_failed(message_id=message_id, error=exc)
            return
        delivery.release(message_id=message_id, error=exc)
        raise self.retry(exc=exc, countdown=min(2**self.request.retries * 5, 600)) from exc
