"""Screenshots processed off the request path: stored pending, re-encoded by a worker, or refused.

The request checks only the header (`intake.check_evidence_files`) and `store_pending` keeps the raw
bytes in private storage with an Evidence row in state `pending`; after commit a task on the `media`
queue runs `process_pending`: it claims the row, decodes and re-encodes outside any transaction, then
either makes the row `ready` (the re-encoded file, thumbnail and pixel hash replace the raw file) or,
when the file is not a sound image, deletes it and emits `evidence_refused`, on which
`notifications.hooks` asks the applicant for another screenshot.

Nothing is lost to a crash: the raw file is deleted only after the row points at the processed one,
and `sweep_pending` queues again every pending row whose claim is older than EVIDENCE_CLAIM_SECONDS
(or that was never claimed, its task lost with the broker). Files a killed worker wrote but never
recorded are unreferenced and go with the orphan sweep (tickets/evidence_files.py).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tickets import workflow
from tickets.evidence import EvidenceError, PendingImage, ProcessedImage, process_image
from tickets.models import Evidence, Ticket

log = logging.getLogger(__name__)

SWEEP_BATCH = 500


def file_stem(name):
    return (name or "evidence").rsplit("/", 1)[-1].rsplit(".", 1)[0][:60] or "evidence"


def store_pending(*, item: Evidence, name: str, image: PendingImage) -> Evidence:
    """Save the raw upload as `item`'s file, the row `pending`, and have a worker process it after commit."""
    item.state = Evidence.State.PENDING
    item.content_type = image.content_type
    item.width, item.height = image.info.width, image.info.height
    item.size_bytes = len(image.content)
    item.sha256 = ""
    item.file.save(f"{file_stem(name)}-pending.{image.extension}", ContentFile(image.content), save=False)
    item.save()
    schedule(item.pk)
    return item


def schedule(evidence_id):
    """Queue the processing once the row is committed (in-process at once when tasks are eager)."""
    from tickets import tasks  # the tasks module imports this one: the task is looked up at call time

    transaction.on_commit(lambda: tasks.process_evidence.delay(evidence_id))


def process_pending(evidence_id, *, now=None):
    """Process one pending screenshot; returns "ready", "refused", or "" when there was nothing to do.

    Safe to run twice or concurrently: the claim lets one worker at a time in (a claim older than
    EVIDENCE_CLAIM_SECONDS is a dead worker's and is taken over), and the result is recorded only on a
    row still pending. A file that killed EVIDENCE_MAX_ATTEMPTS workers is refused, not tried forever.
    """
    item = _claim(evidence_id, now or timezone.now())
    if item is None:
        return ""
    if item.attempts > settings.EVIDENCE_MAX_ATTEMPTS:  # it crashed every worker that tried it
        return _refuse(item, EvidenceError("not_image"))
    try:
        with item.file.open("rb") as raw:
            data = raw.read()
    except FileNotFoundError:
        data = b""
    try:
        processed = process_image(data, max_pixels=settings.EVIDENCE_MAX_PIXELS)
    except EvidenceError as exc:
        return _refuse(item, exc)
    return _record(item, processed)


def _claim(evidence_id, now):
    stale = now - timedelta(seconds=settings.EVIDENCE_CLAIM_SECONDS)
    claimed = (
        Evidence.objects.filter(pk=evidence_id, state=Evidence.State.PENDING)
        .filter(Q(claimed_at=None) | Q(claimed_at__lt=stale))
        .update(claimed_at=now, attempts=F("attempts") + 1)
    )
    if not claimed:
        return None
    return Evidence.objects.select_related("ticket").filter(pk=evidence_id).first()


def _record(item, processed: ProcessedImage):
    """Write the processed files, then point the row at them; the raw file goes once that committed."""
    stem = file_stem(item.original_name)
    storage = item.file.storage
    field = Evidence._meta.get_field("file")
    new_file = storage.save(
        field.generate_filename(item, f"{stem}.{processed.extension}"), ContentFile(processed.content)
    )
    new_thumb = storage.save(
        field.generate_filename(item, f"{stem}-thumb.jpg"), ContentFile(processed.thumbnail)
    )
    with transaction.atomic():
        row = Evidence.objects.select_for_update().filter(pk=item.pk, state=Evidence.State.PENDING).first()
        if row is None:  # erased or processed by another worker meanwhile
            storage.delete(new_file)
            storage.delete(new_thumb)
            return ""
        raw_name = row.file.name
        row.file.name, row.thumbnail.name = new_file, new_thumb
        row.content_type = processed.content_type
        row.width, row.height = processed.width, processed.height
        row.size_bytes = len(processed.content)
        row.sha256 = processed.sha256
        row.state = Evidence.State.READY
        row.save(
            update_fields=[
                "file",
                "thumbnail",
                "content_type",
                "width",
                "height",
                "size_bytes",
                "sha256",
                "state",
            ]
        )
        flag_reused_screenshot(row)
        transaction.on_commit(lambda: storage.delete(raw_name))
    return "ready"


def flag_reused_screenshot(item):
    """Flag the ticket for agents when the same picture is on another ticket (never told to the applicant)."""
    reused = (
        Evidence.objects.filter(sha256=item.sha256, state=Evidence.State.READY)
        .exclude(ticket=item.ticket_id)
        .exclude(source=Evidence.Source.STAFF)
    ).exists()
    if reused:
        Ticket.objects.filter(pk=item.ticket_id, possible_duplicate=False).update(possible_duplicate=True)
        item.ticket.possible_duplicate = True


def _refuse(item, exc):
    """Delete the file and its row, and ask the applicant for another screenshot."""
    storage = item.file.storage
    with transaction.atomic():
        row = (
            Evidence.objects.select_for_update()
            .select_related("ticket")
            .filter(pk=item.pk, state=Evidence.State.PENDING)
            .first()
        )
        if row is None:
            return ""
        raw_name = row.file.name
        row.delete()
        log.info("evidence %s of %s refused by the worker: %s", item.pk, row.ticket.reference, exc.code)
        workflow.emit("evidence_refused", ticket=row.ticket, name=row.original_name, reason=exc.message)
        transaction.on_commit(lambda: storage.delete(raw_name))
    return "refused"


def sweep_pending(*, now=None):
    """Queue again the pending screenshots nobody is working on: never claimed for a while (their task
    was lost) or claimed longer ago than EVIDENCE_CLAIM_SECONDS (their worker died). Returns the ids."""
    from tickets import tasks  # the tasks module imports this one

    now = now or timezone.now()
    grace = now - timedelta(seconds=settings.EVIDENCE_PENDING_GRACE_SECONDS)
    stale = now - timedelta(seconds=settings.EVIDENCE_CLAIM_SECONDS)
    ids = list(
        Evidence.objects.filter(state=Evidence.State.PENDING)
        .filter(Q(claimed_at=None, created_at__lt=grace) | Q(claimed_at__lt=stale))
        .order_by("created_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for evidence_id in ids:
        tasks.process_evidence.delay(evidence_id)
    return ids
