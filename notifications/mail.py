"""Inbound email: parse a raw RFC 822 message, thread it onto its ticket, keep only the new text.

Used by `POST /webhooks/email/` and `manage.py ingest_email`. Threading: In-Reply-To/References naming
a Message-ID we stored, else `[EMT-XXXXXXX]` in the subject, else a new ticket for the sender.
"""

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

import html2text
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from notifications import conversation
from notifications.models import (
    Direction,
    HeldReason,
    InboundEmail,
    InboundEmailState,
    Message,
    MessageChannel,
    MessageStatus,
)
from notifications.replies import visible_reply
from tickets.evidence import EvidenceError, check_image, process_image
from tickets.models import Ticket
from tickets.services import attach_evidence

log = logging.getLogger(__name__)

REFERENCE_RE = re.compile(r"\b(EMT-[2-9A-HJKMNP-TV-Z]{7})\b", re.IGNORECASE)
MESSAGE_ID_RE = re.compile(r"<[^<>\s]+>")
# MIME structure, read from the raw bytes before any full parse (see check_structure).
BOUNDARY_RE = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]*)"|([^\s;"]+))', re.IGNORECASE)
CONTINUED_BOUNDARY_RE = re.compile(rb"boundary\*", re.IGNORECASE)
DELIMITER_RE = re.compile(rb"^--([^\r\n]*)", re.MULTILINE)
MESSAGE_PART_RE = re.compile(rb"^content-type:\s*message/", re.IGNORECASE | re.MULTILINE)
READ_ATTEMPTS = 5


class InvalidEmail(Exception):
    """Not a usable email: no sender address, or not RFC 822 at all."""


@dataclass
class Received:
    message: Message | None = None
    duplicate: bool = False
    ignored: str = ""
    refused: tuple = ()
    held: bool = False

    def as_dict(self):
        if self.message is None:
            return {"duplicate": self.duplicate, "ignored": self.ignored}
        return {
            "ticket": self.message.ticket.reference,
            "message": self.message.pk,
            "duplicate": self.duplicate,
            "held": self.held,
            "evidence": self.message.evidence.count(),
            "refused_attachments": list(self.refused),
        }


def parse(raw, headers_only=False):
    try:
        return BytesParser(policy=policy.default).parsebytes(raw, headersonly=headers_only)
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
    """Keep the raw email and read it now (``ingest_email``, tests): its Received."""
    inbound, created = store_raw(raw)
    if not created and inbound.state != InboundEmailState.PENDING:
        return Received(message=inbound.message, duplicate=True, ignored=inbound.error)
    return read_inbound(inbound_id=inbound.pk)


def store_raw(raw):
    """Keep a raw email before reading it, once per Message-ID: (InboundEmail, created).

    Only the headers are read here, so a web request answers at once whatever the body holds.
    """
    if len(raw) > settings.INBOUND_EMAIL_MAX_BYTES:
        raise InvalidEmail("message too large")
    headers = parse(raw, headers_only=True)
    address = sender_of(headers)
    message_id = message_id_of(headers, raw)
    found = InboundEmail.objects.filter(email_message_id=message_id).first()
    if found is not None:
        return found, False
    try:
        with transaction.atomic():
            inbound = InboundEmail.objects.create(
                email_message_id=message_id,
                sender=address[:254],
                subject=str(headers.get("Subject", ""))[:255],
                raw=raw,
                size=len(raw),
            )
    except IntegrityError:
        return InboundEmail.objects.get(email_message_id=message_id), False
    return inbound, True


def read_inbound(*, inbound_id):
    """Read a stored raw email and put it on its ticket (in a worker); a bomb is refused, not parsed."""
    inbound = InboundEmail.objects.get(pk=inbound_id)
    if inbound.state != InboundEmailState.PENDING:
        return Received(message=inbound.message, duplicate=True, ignored=inbound.error)
    InboundEmail.objects.filter(pk=inbound.pk).update(attempts=F("attempts") + 1)
    raw = bytes(inbound.raw)
    try:
        check_structure(raw)
        email = parse(raw)
        check_structure_of(email)
        return _receive(email, raw, inbound)
    except InvalidEmail as error:
        _finish(inbound, InboundEmailState.FAILED, error=str(error))
        return Received(ignored=f"refused: {error}")


def check_structure(raw):
    """Refuse a MIME bomb before parsing it: count the parts its boundaries and message/* headers make."""
    boundaries = {quoted or bare for quoted, bare in BOUNDARY_RE.findall(raw)}
    continued = CONTINUED_BOUNDARY_RE.search(raw) is not None  # RFC 2231 pieces: count every "--" line
    delimiters = sum(
        1
        for found in DELIMITER_RE.finditer(raw)
        if continued or found.group(1).rstrip().removesuffix(b"--") in boundaries
    )
    parts = delimiters + len(MESSAGE_PART_RE.findall(raw))
    if parts > settings.INBOUND_EMAIL_MAX_PARTS:
        raise InvalidEmail(f"too many MIME parts (about {parts}, at most {settings.INBOUND_EMAIL_MAX_PARTS})")


def check_structure_of(email):
    """The parsed message, checked again: parts and nesting depth within the settings."""
    parts = sum(1 for _part in email.walk())
    if parts > settings.INBOUND_EMAIL_MAX_PARTS:
        raise InvalidEmail(f"too many MIME parts ({parts}, at most {settings.INBOUND_EMAIL_MAX_PARTS})")
    depth = _depth(email)
    if depth > settings.INBOUND_EMAIL_MAX_DEPTH:
        raise InvalidEmail(
            f"MIME parts nested too deep ({depth}, at most {settings.INBOUND_EMAIL_MAX_DEPTH})"
        )


def _depth(part):
    if not part.is_multipart():
        return 1
    return 1 + max((_depth(child) for child in part.get_payload()), default=0)


def sender_of(email):
    address = parseaddr(str(email.get("From", "")))[1]
    try:
        validate_email(address)
    except ValidationError as error:
        raise InvalidEmail("the message has no valid From address") from error
    return address


def same_address(one, other):
    """Email addresses compared as mail servers do in practice: trimmed, case-insensitive."""
    return bool(one) and one.strip().lower() == (other or "").strip().lower()


def inbound_due_for_sweep(now=None):
    """Raw emails stored but not read (the worker died, the task was lost); given up after a few tries."""
    grace = (now or timezone.now()) - timedelta(seconds=settings.OUTBOX_SWEEP_GRACE_SECONDS)
    pending = InboundEmail.objects.filter(state=InboundEmailState.PENDING, received_at__lt=grace)
    for inbound in pending.filter(attempts__gte=READ_ATTEMPTS):
        _finish(inbound, InboundEmailState.FAILED, error=f"not readable after {READ_ATTEMPTS} attempts")
    return list(pending.filter(attempts__lt=READ_ATTEMPTS).order_by("id").values_list("id", flat=True)[:200])


def _finish(inbound, state, *, message=None, error=""):
    InboundEmail.objects.filter(pk=inbound.pk, state=InboundEmailState.PENDING).update(
        state=state, message=message, error=error[:2000], processed_at=timezone.now()
    )


def _receive(email, raw, inbound):
    """Store one parsed inbound email on its ticket (opening one when none matches), once per Message-ID.

    Mail naming a ticket from another address than the applicant's is held for an agent: stored on the
    ticket as such, with no transition and no evidence (its attachments stay in the raw message).
    """
    message_id = inbound.email_message_id
    stored = Message.objects.filter(
        channel=MessageChannel.EMAIL, direction=Direction.INBOUND, provider_id=message_id
    )
    if stored.exists():
        _finish(inbound, InboundEmailState.STORED, message=stored.first())
        return Received(message=stored.select_related("ticket").first(), duplicate=True)
    name, address = parseaddr(str(email.get("From", "")))[0], sender_of(email)
    if _is_automatic(email):
        _finish(inbound, InboundEmailState.IGNORED, error="automatic reply")
        return Received(ignored="automatic reply")
    body = strip_quoted(text_of(email))
    ticket = _ticket_for(email)
    if ticket is not None and ticket.state not in conversation.CONVERSATION_STATES:
        ticket = None  # a closed ticket is nobody's queue any more: the reply opens a new one
    held = ticket is not None and not same_address(address, ticket.email)
    images, refused = ([], []) if held else _checked_images(email)  # pixels before any lock is taken
    try:
        with transaction.atomic():
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
                held_reason=HeldReason.OTHER_SENDER if held else "",
                error_message=_kept_aside(email) if held else "; ".join(refused)[:2000],
            )
            _finish(inbound, InboundEmailState.HELD if held else InboundEmailState.STORED, message=message)
            if held:
                return Received(message=message, held=True)
            for image_name, image in images:
                attach_evidence(ticket=ticket, name=image_name, image=image, source="email", message=message)
            conversation.applicant_replied(ticket=ticket)
    except IntegrityError:
        if stored.exists():
            _finish(inbound, InboundEmailState.STORED, message=stored.first())
            return Received(message=stored.select_related("ticket").first(), duplicate=True)
        raise
    return Received(message=message, refused=tuple(refused))


def _kept_aside(email):
    names = [part.get_filename() or part.get_content_type() for part in email.iter_attachments()]
    if not names:
        return ""
    return ("Attachments kept aside in the raw message, not evidence: " + ", ".join(names))[:2000]
