"""What the webhooks received, onto its ticket: WhatsApp messages and their media, delivery statuses.

Everything is stored once (the provider's id is unique per channel and direction); slow work (media
downloads, reading raw email) goes to a task that the outbox sweep re-queues if it is ever lost. The
webhook views themselves are in notifications/webhooks.py.
"""

import io
import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from notifications import conversation, satisfaction, whatsapp_content
from notifications.models import Direction, Message, MessageChannel, MessageStatus
from notifications.twilio_client import MediaFetchError, MediaTooLarge, fetch_media
from tickets import services as ticket_services
from tickets.evidence import EvidenceError, check_image, process_image

log = logging.getLogger(__name__)


# Twilio's MessageStatus -> ours (https://www.twilio.com/docs/messaging/api/message-resource#message-status-values).
TWILIO_STATUSES = {
    "accepted": MessageStatus.QUEUED,
    "scheduled": MessageStatus.QUEUED,
    "queued": MessageStatus.QUEUED,
    "sending": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "read": MessageStatus.READ,
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
    "canceled": MessageStatus.FAILED,
}
STATUS_TIMES = {
    MessageStatus.SENT: "sent_at",
    MessageStatus.DELIVERED: "delivered_at",
    MessageStatus.READ: "read_at",
}


class MediaUnavailable(Exception):
    """A media download failed for a reason that may pass (network, Twilio 5xx); the task retries."""


# --- inbound WhatsApp ---------------------------------------------------------------------------


def _number(address):
    return address.removeprefix("whatsapp:").strip()


def _media_items(form):
    try:
        count = min(int(form.get("NumMedia") or 0), 10)
    except ValueError:
        count = 0
    items = []
    for index in range(count):
        url = form.get(f"MediaUrl{index}", "")
        if url:
            content_type = form.get(f"MediaContentType{index}", "")
            items.append({"url": url, "content_type": content_type, "state": "pending", "error": ""})
    return items


def receive_whatsapp(form):
    """Store one inbound WhatsApp message on its ticket (opening one for an unknown number), once.

    Returns the message, or None when this MessageSid was stored already.
    """
    sid = form["MessageSid"]
    if Message.objects.filter(
        channel=MessageChannel.WHATSAPP, direction=Direction.INBOUND, provider_id=sid
    ).exists():
        return None
    number = _number(form["From"])
    body = whatsapp_content.with_location(form.get("Body", ""), form)
    media = _media_items(form)
    try:
        with transaction.atomic():
            ticket = conversation.ticket_for_whatsapp(number)
            survey_ticket = None
            if ticket is None:  # no conversation open: perhaps the answer to a satisfaction question
                ticket = survey_ticket = satisfaction.whatsapp_answer(number=number, body=body)
            if ticket is None:
                ticket = conversation.open_ticket(
                    channel="whatsapp",
                    data={"whatsapp": number, "full_name": form.get("ProfileName", ""), "description": body},
                )
            message = Message.objects.create(
                ticket=ticket,
                direction=Direction.INBOUND,
                channel=MessageChannel.WHATSAPP,
                body=body,
                from_address=number,
                to_address=_number(form.get("To", "")),
                provider_id=sid,
                status=MessageStatus.RECEIVED,
                media=media,
                media_pending=bool(media),
            )
            # A rating is no reply for an agent to read; it opens the WhatsApp window all the same.
            conversation.applicant_replied(ticket=ticket, whatsapp=True, flag=survey_ticket is None)
            if media:
                transaction.on_commit(lambda: schedule_media_fetch(message.pk))
    except IntegrityError:
        if Message.objects.filter(
            channel=MessageChannel.WHATSAPP, direction=Direction.INBOUND, provider_id=sid
        ).exists():
            return None  # the same MessageSid arrived twice at once; the other one stored it
        raise
    return message


def apply_status(*, message_sid, twilio_status, error_code="", message_pk=""):
    """A status callback: record Twilio's sid if we had not yet, move the status forward only."""
    new_status = TWILIO_STATUSES.get(twilio_status.lower())
    with transaction.atomic():
        outbound = Message.objects.select_for_update().filter(
            channel=MessageChannel.WHATSAPP, direction=Direction.OUTBOUND
        )
        message = outbound.filter(provider_id=message_sid).first()
        if message is None and message_pk.isdigit():
            message = outbound.filter(pk=int(message_pk), provider_id="").first()
        if message is None:
            log.info("status %s for unknown message %s ignored", twilio_status, message_sid)
            return None
        changed = []
        if not message.provider_id:
            message.provider_id = message_sid
            changed.append("provider_id")
        if new_status and message.advance_status(new_status):
            changed.append("status")
            time_field = STATUS_TIMES.get(new_status)
            if time_field and getattr(message, time_field) is None:
                setattr(message, time_field, timezone.now())
                changed.append(time_field)
            if new_status == MessageStatus.FAILED:
                message.error_code = error_code or "unknown"
                message.error_message = f"Twilio status {twilio_status}, error code {message.error_code}"
                changed += ["error_code", "error_message"]
        if changed:
            message.save(update_fields=changed)
    return message


# --- inbound media ------------------------------------------------------------------------------


def schedule_media_fetch(message_id):
    from notifications.tasks import fetch_inbound_media

    try:
        fetch_inbound_media.delay(message_id)
    except Exception:
        log.exception("could not queue media download for message %s; the outbox sweep will", message_id)


def fetch_pending_media(*, message_id):
    """Download each pending media item once and keep accepted images as evidence on the ticket."""
    message = Message.objects.select_related("ticket").get(pk=message_id)
    for index, item in enumerate(message.media):
        if item.get("state") != "pending":
            continue
        if whatsapp_content.is_vcard(item.get("content_type", "")):
            _fetch_contact(message, index, item)
            continue
        if not item.get("content_type", "").startswith("image/"):
            _set_media_state(message_id, index, "skipped", "not an image")
            continue
        _fetch_one(message, index, item)
    Message.objects.filter(pk=message_id).update(
        media_pending=any(item.get("state") == "pending" for item in Message.objects.get(pk=message_id).media)
    )


def download_media(url, *, max_bytes):
    """A media file of an inbound message, downloaded from Twilio with the account's credentials."""
    return fetch_media(
        url, settings.TWILIO_ACCOUNT_SID or "", settings.TWILIO_AUTH_TOKEN or "", max_bytes=max_bytes
    )


def _downloaded(message, index, item, *, max_bytes):
    """The media's bytes, or None once its state says why not; raises MediaUnavailable to be retried."""
    try:
        content, _content_type = download_media(item["url"], max_bytes=max_bytes)
    except MediaTooLarge:
        _set_media_state(message.pk, index, "refused", "too_large")
        return None
    except MediaFetchError as error:
        if error.status is not None and 400 <= error.status < 500 and error.status != 429:
            _set_media_state(message.pk, index, "failed", str(error))
            return None
        raise MediaUnavailable(str(error)) from error
    return content


def _fetch_one(message, index, item):
    content = _downloaded(message, index, item, max_bytes=settings.EVIDENCE_MAX_BYTES)
    if content is None:
        return
    try:
        check_image(
            io.BytesIO(content),
            max_bytes=settings.EVIDENCE_MAX_BYTES,
            max_pixels=settings.EVIDENCE_MAX_PIXELS,
        )
        image = process_image(content)
    except EvidenceError as error:
        _set_media_state(message.pk, index, "refused", error.code)
        return
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.media[index].get("state") != "pending":
            return  # another worker kept it already
        ticket_services.attach_evidence(
            ticket=message.ticket,
            name=f"whatsapp-{index + 1}",
            image=image,
            source="whatsapp",
            message=locked,
        )
        locked.media[index].update(state="kept", error="")
        locked.save(update_fields=["media"])


def _fetch_contact(message, index, item):
    """A shared contact card: its names and numbers are added to the message's text."""
    content = _downloaded(message, index, item, max_bytes=whatsapp_content.VCARD_MAX_BYTES)
    if content is None:
        return
    text = whatsapp_content.contact_text(content)
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message.pk)
        if locked.media[index].get("state") != "pending":
            return  # another worker read it already
        locked.body = "\n".join(part for part in (locked.body, text) if part)
        locked.media[index].update(state="kept", error="")
        locked.save(update_fields=["body", "media"])


def _set_media_state(message_id, index, state, error):
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message_id)
        if locked.media[index].get("state") == "pending":
            locked.media[index].update(state=state, error=error[:300])
            locked.save(update_fields=["media"])


def give_up_media(*, message_id, error):
    with transaction.atomic():
        locked = Message.objects.select_for_update().get(pk=message_id)
        for item in locked.media:
            if item.get("state") == "pending":
                item.update(state="failed", error=error[:300])
        locked.media_pending = False
        locked.save(update_fields=["media", "media_pending"])


def media_due_for_sweep(now=None):
    grace = (now or timezone.now()) - timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)
    return list(
        Message.objects.filter(media_pending=True, created_at__lt=grace)
        .order_by("id")
        .values_list("id", flat=True)[:200]
    )


# --- inbound email ------------------------------------------------------------------------------


def schedule_inbound_email(inbound_id):
    from notifications.tasks import read_inbound_email

    try:
        read_inbound_email.delay(inbound_id)
    except Exception:
        log.exception("could not queue inbound email %s; the outbox sweep will", inbound_id)
