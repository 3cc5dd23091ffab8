"""Write messages onto tickets: notifications and replies into the outbox, notes, inbound messages.

Outbound messages are created inside the caller's transaction and handed to a delivery task only
after it commits, so a rollback sends nothing and a crash after commit loses nothing.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications import texts
from notifications.models import Direction, Message, MessageChannel, MessageStatus
from tickets import services as ticket_services
from tickets.exceptions import InvalidParameter
from tickets.links import tracking_url
from tickets.models import Evidence

log = logging.getLogger(__name__)


def _contact_channels(ticket):
    """Where the applicant can be reached: the preferred channel first, then the other one."""
    channels = []
    if ticket.whatsapp:
        channels.append(MessageChannel.WHATSAPP)
    if ticket.email:
        channels.append(MessageChannel.EMAIL)
    if ticket.preferred_channel == MessageChannel.EMAIL:
        channels.sort(key=lambda channel: channel != MessageChannel.EMAIL)
    return channels


def _address(ticket, channel):
    return ticket.whatsapp if channel == MessageChannel.WHATSAPP else ticket.email


def _outbound(*, ticket, channel, body, subject="", event="", author=None, content=None):
    return Message(
        ticket=ticket,
        direction=Direction.OUTBOUND,
        channel=channel,
        event=event,
        author=author,
        subject=subject,
        body=body,
        to_address=_address(ticket, channel),
        content_sid=(content or {}).get("sid", ""),
        content_variables=(content or {}).get("variables", {}),
        status=MessageStatus.QUEUED,
    )


def _queue(messages):
    """Write messages to the outbox in one INSERT; they are delivered after the transaction commits.

    With OUTBOX_RELAY on, that is all: the relay (notifications/relay.py) hands the committed rows to
    the workers, and this request never talks to the broker. Otherwise they are published after the
    commit and count as handed to the broker from the start (the hand-off clears `handed_over_at`
    again if it fails), so the outbox sweep leaves them to their task.
    """
    relay = settings.OUTBOX_RELAY
    now = timezone.now()
    for message in messages:
        message.handed_over_at = None if relay else now
    Message.objects.bulk_create(messages)
    if not relay:
        _deliver_after_commit([message.pk for message in messages])
    return messages


def queue_outbound(*, ticket, channel, body, subject="", event="", author=None, content=None):
    """Put one message in the outbox; it is delivered after the surrounding transaction commits."""
    message = _outbound(
        ticket=ticket,
        channel=channel,
        body=body,
        subject=subject,
        event=event,
        author=author,
        content=content,
    )
    return _queue([message])[0]


class _CommitBatch:
    """The outbox messages one transaction queued, handed to the broker in one publish after commit."""

    def __init__(self):
        self.message_ids = []
        self.flushed = False

    def flush(self):
        self.flushed = True
        schedule_delivery(*self.message_ids)


def _deliver_after_commit(message_ids):
    if not message_ids:
        return
    connection = transaction.get_connection()
    batch = getattr(connection, "outbox_batch", None)
    # A batch whose flush is no longer registered belongs to a transaction that ended (or rolled back).
    if batch is None or batch.flushed or not any(hook[1] == batch.flush for hook in connection.run_on_commit):
        batch = connection.outbox_batch = _CommitBatch()
        transaction.on_commit(batch.flush)
    batch.message_ids.extend(message_ids)


def schedule_delivery(*message_ids):
    """Hand committed messages to a worker; if the broker is down, the outbox sweep sends them later."""
    from notifications.tasks import deliver_message, deliver_messages

    try:
        if len(message_ids) == 1:
            deliver_message.delay(message_ids[0])
        elif message_ids:
            deliver_messages.delay(list(message_ids))
    except Exception:  # the change is committed: never fail the request over the hand-off
        log.exception("could not queue delivery of messages %s; the outbox sweep will", message_ids)
        try:
            Message.objects.filter(pk__in=message_ids, claimed_at=None).update(handed_over_at=None)
        except Exception:  # then the sweep finds them once the hand-over lease has passed
            log.exception("could not mark messages %s as not handed over", message_ids)


def notify(*, ticket, event, author=None, channels=None, **context):
    """Tell the applicant about an event on every channel they gave (or only `channels`), in their language."""
    return _queue(_notification(ticket=ticket, event=event, author=author, channels=channels, **context))


def notify_many(notices):
    """`notify` for many tickets at once (a bulk transition): each notice is the keyword arguments of a
    `notify` call; the messages are the same, written in one INSERT and handed over in one publish."""
    return _queue([message for notice in notices for message in _notification(**notice)])


def _notification(*, ticket, event, author=None, channels=None, **context):
    """The outbox messages of one notification, not yet saved."""
    if ticket.erased_at is not None:
        return []
    context.setdefault("link", tracking_url(ticket))
    messages = []
    for channel in _contact_channels(ticket):
        if channels is not None and channel not in channels:
            continue
        rendered = texts.render(event, ticket=ticket, channel=channel, **context)
        messages.append(
            _outbound(
                ticket=ticket,
                channel=channel,
                body=rendered.body,
                subject=rendered.subject,
                event=event,
                author=author,
                content=rendered.content,
            )
        )
    return messages


def add_note(*, ticket, author, body):
    """An internal note: stored on the ticket, never sent to the applicant."""
    return Message.objects.create(
        ticket=ticket,
        direction=Direction.OUTBOUND,
        channel=MessageChannel.NOTE,
        author=author,
        body=body,
        status=MessageStatus.SENT,
    )


def send_reply(*, ticket, author, channel, body, image=None):
    """An agent's reply on WhatsApp or email, or an internal note: the one entry point for staff.

    `image` (a checked, re-encoded `ProcessedImage`) is stored on the message and sent with it: as
    WhatsApp media (through the tracking token's link) or as an email attachment. Call it inside a
    transaction: the image and the message commit together.
    """
    message = _reply(ticket=ticket, author=author, channel=channel, body=body)
    if image is not None:
        attach_image(message=message, image=image)
    return message


def attach_image(*, message, image):
    """An image staff send, stored on the outbound message (not yet delivered) and sent with it."""
    return ticket_services.attach_evidence(
        ticket=message.ticket, name="image", image=image, source=Evidence.Source.STAFF, message=message
    )


def latest_notification(*, ticket, event, channel):
    """The newest outbound message of `event` on `channel` (a transition's notification), or None."""
    return (
        Message.objects.filter(ticket=ticket, direction=Direction.OUTBOUND, event=event, channel=channel)
        .order_by("-id")
        .first()
    )


def _reply(*, ticket, author, channel, body):
    body = (body or "").strip()
    if not body:
        raise InvalidParameter(_("Write the message."), field="body")
    if channel == MessageChannel.NOTE:
        return add_note(ticket=ticket, author=author, body=body)
    if channel not in (MessageChannel.WHATSAPP, MessageChannel.EMAIL):
        raise InvalidParameter(_("Choose WhatsApp, email or an internal note."), field="channel")
    if ticket.erased_at is not None or not _address(ticket, channel):
        raise InvalidParameter(_("The applicant gave no address on this channel."), field="channel")
    rendered = texts.render(
        "agent_reply", ticket=ticket, channel=channel, message=body, link=tracking_url(ticket)
    )
    return queue_outbound(
        ticket=ticket,
        channel=channel,
        body=rendered.body,
        subject=rendered.subject,
        event="agent_reply",
        author=author,
    )
