"""Inbound email: parse a raw RFC 822 message, thread it onto its ticket, keep only the new text.

Used by `POST /webhooks/email/` and `manage.py ingest_email`. Threading: In-Reply-To/References naming
a Message-ID we stored, else `[EMT-XXXXXXX]` in the subject, else a new ticket for the sender.
"""

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

import html2text
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from notifications import conversation
from notifications.models import Direction, Message, MessageChannel, MessageStatus
from notifications.replies import visible_reply

log = logging.getLogger(__name__)

REFERENCE_RE = re.compile(r"\b(EMT-[2-9A-HJKMNP-TV-Z]{7})\b", re.IGNORECASE)
MESSAGE_ID_RE = re.compile(r"<[^<>\s]+>")


class InvalidEmail(Exception):
    """Not a usable email: no sender address, or not RFC 822 at all."""


@dataclass
class Received:
    message: Message | None = None
    duplicate: bool = False
    ignored: str = ""
    refused: tuple = ()

    def as_dict(self):
        if self.message is None:
            return {"duplicate": self.duplicate, "ignored": self.ignored}
        return {
            "ticket": self.message.ticket.reference,
            "message": self.message.pk,
            "duplicate": self.duplicate,
            "evidence": self.message.evidence.count(),
            "refused_attachments": list(self.refused),
        }


def parse(raw):
    try:
        return BytesParser(policy=policy.default).parsebytes(raw)
    except Exception as error:  # the email package raises many things on garbage
        raise InvalidEmail(f"not an email message: {error}") from error


def message_id_of(email, raw):
    """The Message-ID, or a stable one made from the content when the sender gave none."""
    found = MESSAGE_ID_RE.search(str(email.get("Message-ID", "")))
    if found:
        return found.group(0)[:255]
    return f"<{hashlib.sha256(raw).hexdigest()}@inbound.invalid>"


def thread_ids(email):
    ids = MESSAGE_ID_RE.findall(str(email.get("In-Reply-To", "")))
    ids += MESSAGE_ID_RE.findall(str(email.get("References", "")))
    return ids


def text_of(email):
    """The plain text of a message: its text/plain part, else its HTML part turned into text."""
    plain = email.get_body(preferencelist=("plain",))
    if plain is not None:
        return _content(plain)
    html = email.get_body(preferencelist=("html",))
    if html is not None:
        converter = html2text.HTML2Text()
        converter.body_width = 0
        converter.ignore_images = True
        converter.ignore_emphasis = True
        return converter.handle(_content(html))
    return ""


def _content(part):
    try:
        return part.get_content()
    except (LookupError, UnicodeError):
        return part.get_payload(decode=True).decode("utf-8", errors="replace")


def strip_quoted(text):
    """Only what the applicant wrote now: the quoted history and the signature go (the raw mail stays)."""
    return visible_reply(text.replace("\r\n", "\n")).strip()


def images_of(email):
    """(file name, bytes) of every image attached or inlined."""
    images = []
    for part in email.walk():
        if part.is_multipart() or part.get_content_maintype() != "image":
            continue
        payload = part.get_payload(decode=True)
        if payload:
            images.append((part.get_filename() or "email-image", payload))
    return images


def _ticket_for(email):
    from tickets.models import Ticket

    ids = thread_ids(email)
    if ids:
        earlier = (
            Message.objects.filter(channel=MessageChannel.EMAIL, provider_id__in=ids)
            .select_related("ticket")
            .order_by("-created_at")
            .first()
        )
        if earlier is not None:
            return earlier.ticket
    found = REFERENCE_RE.search(str(email.get("Subject", "")))
    if found:
        return Ticket.objects.filter(reference=found.group(1).upper()).first()
    return None


def _is_automatic(email):
    """Auto-replies and bounces: answering them would start a mail loop."""
    auto = str(email.get("Auto-Submitted", "no")).strip().lower()
    return (
        auto != "no"
        or email.get("X-Autoreply")
        or str(email.get("Precedence", "")).lower() in ("bulk", "junk")
    )


def _checked_images(email):
    from tickets.evidence import EvidenceError, check_image, process_image

    kept, refused = [], []
    for name, content in images_of(email)[: settings.EVIDENCE_MAX_FILES]:
        try:
            check_image(
                io.BytesIO(content),
                max_bytes=settings.EVIDENCE_MAX_BYTES,
                max_pixels=settings.EVIDENCE_MAX_PIXELS,
            )
            kept.append((name, process_image(content)))
        except EvidenceError as error:
            refused.append(f"{name}: {error.code}")
    return kept, refused


def receive_email(raw):
    """Store one inbound email on its ticket (opening one when none matches), once per Message-ID."""
    from tickets.services import attach_evidence

    email = parse(raw)
    message_id = message_id_of(email, raw)
    stored = Message.objects.filter(
        channel=MessageChannel.EMAIL, direction=Direction.INBOUND, provider_id=message_id
    )
    if stored.exists():
        return Received(message=stored.select_related("ticket").first(), duplicate=True)
    name, address = parseaddr(str(email.get("From", "")))
    try:
        validate_email(address)
    except ValidationError as error:
        raise InvalidEmail("the message has no valid From address") from error
    if _is_automatic(email):
        return Received(ignored="automatic reply")
    body = strip_quoted(text_of(email))
    images, refused = _checked_images(email)  # pixels are processed before any lock is taken
    try:
        with transaction.atomic():
            ticket = _ticket_for(email)
            if ticket is not None and ticket.state not in conversation.CONVERSATION_STATES:
                ticket = None  # a closed ticket is nobody's queue any more: the reply opens a new one
            if ticket is None:
                ticket = conversation.open_ticket(
                    channel="email", data={"email": address.lower(), "full_name": name, "description": body}
                )
            message = Message.objects.create(
                ticket=ticket,
                direction=Direction.INBOUND,
                channel=MessageChannel.EMAIL,
                subject=str(email.get("Subject", ""))[:255],
                body=body,
                from_address=address[:254],
                to_address=", ".join(addr for _name, addr in getaddresses([str(email.get("To", ""))]))[:254],
                provider_id=message_id,
                in_reply_to=(thread_ids(email) or [""])[0][:255],
                status=MessageStatus.RECEIVED,
                error_message="; ".join(refused)[:2000],
            )
            for image_name, image in images:
                attach_evidence(ticket=ticket, name=image_name, image=image, source="email", message=message)
            conversation.applicant_replied(ticket=ticket)
    except IntegrityError:
        if stored.exists():
            return Received(message=stored.select_related("ticket").first(), duplicate=True)
        raise
    return Received(message=message, refused=tuple(refused))
