"""New reports with their serial numbers and screenshots, evidence added later, and a lost link sent again."""

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from tickets import evidence_pipeline, roles, workflow
from tickets.evidence import PendingImage, ProcessedImage, process_image
from tickets.models import (
    OPEN_STATES,
    Category,
    Evidence,
    RemedyPreference,
    SerialNumber,
    Ticket,
    TicketTransition,
)
from tickets.validators import normalize_whatsapp


def delete_files(files):
    for stored in files:
        stored.storage.delete(stored.name)


# --- intake -----------------------------------------------------------------------------------


def submit_report(
    *,
    data,
    serial_numbers=(),
    evidence=(),
    channel="web",
    on_created=None,
    confirmation="report_received",
    actor=roles.APPLICANT,
    note="",
):
    """Create a ticket from a validated report, with its serial numbers, evidence and confirmations.

    `evidence` holds (name, PendingImage) pairs (header-checked uploads, stored pending and processed by
    a worker after commit: tickets/evidence_pipeline.py), or (name, ProcessedImage) pairs when the
    caller processed them already, or (name, bytes) pairs re-encoded here before the transaction opens
    so no lock is held while pixels are processed. `on_created(ticket)` runs
    inside the transaction before any file is written (the API stores its idempotency record there, and
    a duplicate key refused by the database leaves nothing behind). Files written by a transaction that
    then rolls back are deleted again. `confirmation` is the event the applicant is told (a ticket
    opened by an inbound message gets one with the privacy notice). `actor` and `note` go to the log:
    an agent who takes a report by phone records there the caller's consent.
    """
    processed = processed_images(evidence)
    stored = []
    try:
        return _create_report(
            data, serial_numbers, processed, channel, on_created, confirmation, stored, actor, note
        )
    except BaseException:
        delete_files(stored)
        raise


def processed_images(evidence):
    """Raw bytes re-encoded here; processed images, and pending ones (for the worker), pass as they are."""
    return [
        (name, content if isinstance(content, ProcessedImage | PendingImage) else process_image(content))
        for name, content in evidence
    ]


def _create_report(data, serial_numbers, processed, channel, on_created, confirmation, stored, actor, note):
    with transaction.atomic():
        ticket = Ticket(channel=channel, consent_at=timezone.now(), **data)
        if ticket.category == Category.PAID_NOT_CREDITED and not ticket.remedy_preference:
            ticket.remedy_preference = RemedyPreference.QUOTA
        ticket.possible_duplicate = bool(serial_numbers) and (
            SerialNumber.objects.filter(value__in=serial_numbers, ticket__state__in=OPEN_STATES).exists()
        )
        ticket.save()
        SerialNumber.objects.bulk_create(SerialNumber(ticket=ticket, value=value) for value in serial_numbers)
        TicketTransition.objects.create(
            ticket=ticket,
            name="report",
            source="",
            target=ticket.state,
            actor=None if roles.actor_kind(actor) != "staff" else actor,
            actor_kind=roles.actor_kind(actor),
            note=note,
            created_at=ticket.created_at,
        )
        if on_created is not None:
            on_created(ticket)
        for name, image in processed:
            item = attach_evidence(ticket=ticket, name=name, image=image, source=channel)
            stored.extend([item.file, item.thumbnail])
        workflow.emit("report_created", ticket=ticket, confirmation=confirmation)
    return ticket


def attach_evidence(*, ticket, name, image, source=Evidence.Source.UPLOAD, message=None):
    """Store one screenshot on a ticket: a processed one ready to show (the ticket flagged when the same
    picture is on another), a pending one for the worker to process after commit."""
    item = Evidence(
        ticket=ticket,
        message=message,
        source=source if source in Evidence.Source.values else Evidence.Source.UPLOAD,
        original_name=(name or "")[:255],
    )
    if isinstance(image, PendingImage):
        return evidence_pipeline.store_pending(item=item, name=name, image=image)
    stem = evidence_pipeline.file_stem(name)
    item.content_type = image.content_type
    item.width, item.height = image.width, image.height
    item.size_bytes = len(image.content)
    item.sha256 = image.sha256
    item.file.save(f"{stem}.{image.extension}", ContentFile(image.content), save=False)
    item.thumbnail.save(f"{stem}-thumb.jpg", ContentFile(image.thumbnail), save=False)
    item.save()
    if item.source == Evidence.Source.STAFF:
        return item  # a picture staff send (an example, a guide) says nothing about duplicates
    evidence_pipeline.flag_reused_screenshot(item)
    return item


def resend_tracking_link(*, reference, contact):
    """Send the tracking link again to the contact given, if it is the one on file for that ticket.

    Answers nothing either way (True only for tests and logs): who reported what is never revealed.
    """
    ticket = Ticket.objects.filter(reference=str(reference or "").strip().upper(), erased_at=None).first()
    contact = str(contact or "").strip()
    if ticket is None or not contact:
        return False
    if "@" in contact:
        channel = "email"
        matches = contact.lower() == ticket.email.lower()
    else:
        channel = "whatsapp"
        try:
            matches = normalize_whatsapp(contact) == ticket.whatsapp
        except ValidationError:
            matches = False
    if not matches:
        return False
    with transaction.atomic():
        workflow.emit("tracking_link", ticket=ticket, channel=channel)
    return True
