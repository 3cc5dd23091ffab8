"""One class per outside channel, one method to send (as healthchecks' transports).

A `ChannelError` says whether the failure is permanent, so the retry policy lives in the task; each
provider maps its own answers in one place (`raise_for_twilio`, `raise_for_smtp`).
"""

import json
import logging
import smtplib
import sys
import threading
from datetime import timedelta

import requests
from django.conf import settings
from django.core.mail import EmailMessage, make_msgid
from django.urls import reverse
from django.utils import timezone
from twilio.base.exceptions import TwilioException, TwilioRestException

from notifications.models import Message, MessageChannel
from notifications.twilio_client import make_twilio_client

log = logging.getLogger(__name__)

WHATSAPP_SESSION_WINDOW = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=5)


class ChannelError(Exception):
    def __init__(self, message, *, permanent=False, code=""):
        super().__init__(message)
        self.permanent = permanent
        self.code = str(code or "")


# --- WhatsApp -----------------------------------------------------------------------------------


def twilio_configured():
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN and settings.TWILIO_WHATSAPP_FROM)


_clients = threading.local()


def twilio_client():
    """This thread's Twilio client for the configured account: its HTTP session keeps the connection
    to Twilio alive from one message to the next (a new client per message paid a TLS handshake each)."""
    key = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_API_URL)
    cached = getattr(_clients, "cached", None)
    if cached is None or cached[0] != key:
        cached = _clients.cached = (key, make_twilio_client(*key[:2], api_url=key[2]))
    return cached[1]


def raise_for_twilio(error):
    """Turn what the Twilio SDK raised into a ChannelError: 429, 5xx and network errors are transient."""
    if isinstance(error, TwilioRestException):
        status = error.status or 0
        transient = status == 429 or status >= 500
        raise ChannelError(
            f"Twilio {status}: {error.msg}", permanent=not transient, code=error.code or status
        ) from error
    if isinstance(error, requests.RequestException):
        raise ChannelError(f"Twilio unreachable: {error}") from error
    raise ChannelError(f"Twilio: {error}") from error


def whatsapp_address(number):
    return number if number.startswith("whatsapp:") else f"whatsapp:{number}"


def within_session_window(ticket, now=None):
    """WhatsApp lets a business send free text only within 24 hours of the customer's last message."""
    last = ticket.last_inbound_at
    return last is not None and (now or timezone.now()) - last < WHATSAPP_SESSION_WINDOW


def media_urls(message):
    """Public links Twilio fetches an outbound image from: the applicant's own tracking-token link."""
    ticket = message.ticket
    return [
        f"{settings.PUBLIC_BASE_URL}{reverse('status-evidence', args=[ticket.reference, item.pk])}"
        f"?token={ticket.tracking_token}"
        for item in message.evidence.all()
    ]


def status_callback_url(message):
    # Our id in the URL lets a callback find its message even before the worker recorded Twilio's sid.
    return f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/status/?message={message.pk}"


class WhatsAppChannel:
    """WhatsApp through Twilio's Messages API: free text inside the 24-hour window, else a template."""

    def payload(self, message):
        params = {
            "to": whatsapp_address(message.to_address),
            "from_": settings.TWILIO_WHATSAPP_FROM,
            "status_callback": status_callback_url(message),
        }
        if message.content_sid and not within_session_window(message.ticket):
            params["content_sid"] = message.content_sid
            params["content_variables"] = json.dumps(message.content_variables or {})
        else:
            # No template for this event (agent replies never have one): free text. Outside the window
            # Twilio answers 63016, which is recorded on the message and shown to the agent.
            params["body"] = message.body
            media = media_urls(message)
            if media:
                params["media_url"] = media
        return params

    def send(self, message):
        try:
            created = twilio_client().messages.create(**self.payload(message))
        except (TwilioException, requests.RequestException) as error:
            raise_for_twilio(error)
        return created.sid

    def find_sent(self, message, since):
        """Twilio's sid of a message we may have sent since `since` (a crashed attempt), or None."""
        try:
            # Newest first; no DateSent filter: a message Twilio has only queued has no date_sent yet.
            candidates = twilio_client().messages.list(to=whatsapp_address(message.to_address), limit=50)
        except (TwilioException, requests.RequestException) as error:
            raise_for_twilio(error)
        for candidate in candidates:
            if candidate.date_created and candidate.date_created < since - CLOCK_SKEW:
                continue
            # A template's text is Twilio's rendering, not ours: any unrecorded message then matches.
            matches = bool(message.content_sid) or candidate.body == message.body
            if (
                matches
                and not Message.objects.filter(provider_id=candidate.sid).exclude(pk=message.pk).exists()
            ):
                return candidate.sid
        return None


class ConsoleWhatsAppChannel:
    """Embedded default: print the WhatsApp message instead of sending it."""

    def send(self, message):
        sys.stdout.write(
            f"\n--- WhatsApp to {message.to_address} ({message.ticket.reference}) ---\n{message.body}\n---\n"
        )
        sys.stdout.flush()
        return f"console-{message.pk}"

    def find_sent(self, message, since):
        return None


# --- email --------------------------------------------------------------------------------------


def raise_for_smtp(error):
    """SMTP 5xx refusals are permanent; 4xx, disconnections and network errors are transient."""
    code = getattr(error, "smtp_code", None)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [answer[0] for answer in error.recipients.values()]
        code = min(codes) if codes else None
    permanent = bool(code) and 500 <= code < 600
    raise ChannelError(f"SMTP: {error}", permanent=permanent, code=code or "") from error


def new_message_id():
    address = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1]
    return make_msgid(domain=address.strip("> ") or "localhost")


class EmailChannel:
    """Outbound email through Django's email backend, with the reference in the subject, threaded.

    The Message-ID is fixed before sending (`delivery` stores it first), so a re-send after a crash
    carries the same Message-ID and mail clients show it once.
    """

    def build(self, message):
        headers = {"Message-ID": message.provider_id or new_message_id()}
        thread = thread_ids(message)
        if thread:
            headers["In-Reply-To"] = thread[-1]
            headers["References"] = " ".join(thread)
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to_address],
            headers=headers,
        )
        for item in message.evidence.all():  # images staff attached to the reply
            with item.file.open("rb") as stored:
                email.attach(item.file.name.rsplit("/", 1)[-1], stored.read(), item.content_type)
        return email

    def send(self, message):
        email = self.build(message)
        try:
            email.send()
        except (smtplib.SMTPException, OSError) as error:
            raise_for_smtp(error)
        return email.extra_headers["Message-ID"]

    def find_sent(self, message, since):
        return None  # re-sending with the same Message-ID is safe enough


def thread_ids(message):
    """Message-IDs of the ticket's earlier emails, oldest first (the last one is replied to)."""
    earlier = (
        Message.objects.filter(ticket_id=message.ticket_id, channel=MessageChannel.EMAIL)
        .exclude(pk=message.pk)
        .exclude(provider_id="")
        .filter(created_at__lte=message.created_at, held_reason="")
        .order_by("created_at", "id")
        .values_list("provider_id", flat=True)
    )
    return list(earlier)[-10:]


def channel_for(channel_name):
    if channel_name == "email":
        return EmailChannel()
    if twilio_configured():
        return WhatsAppChannel()
    return ConsoleWhatsAppChannel()
