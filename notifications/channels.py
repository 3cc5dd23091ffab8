"""One class per outside channel, one method to send (as healthchecks' transports).

A `ChannelError` says whether the failure is permanent, so the retry policy lives in the task.
"""

import logging
import sys

from django.conf import settings
from django.core.mail import EmailMessage, make_msgid

log = logging.getLogger(__name__)


class ChannelError(Exception):
    def __init__(self, message, *, permanent=False, code=""):
        super().__init__(message)
        self.permanent = permanent
        self.code = code


class ConsoleWhatsAppChannel:
    """Embedded default: print the WhatsApp message instead of sending it."""

    def send(self, message):
        sys.stdout.write(
            f"\n--- WhatsApp to {message.to_address} ({message.ticket.reference}) ---\n{message.body}\n---\n"
        )
        sys.stdout.flush()
        return f"console-{message.pk}"


class EmailChannel:
    """Outbound email through Django's email backend, with the reference in the subject."""

    def send(self, message):
        message_id = message.provider_id or make_msgid(domain=_mail_domain())
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to_address],
            headers={"Message-ID": message_id},
        )
        try:
            email.send()
        except OSError as exc:
            raise ChannelError(str(exc)) from exc
        return message_id


def _mail_domain():
    address = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1]
    return address.strip("> ") or "localhost"


def channel_for(channel_name):
    if channel_name == "email":
        return EmailChannel()
    return ConsoleWhatsAppChannel()
