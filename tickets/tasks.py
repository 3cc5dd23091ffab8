"""Scheduled work on tickets (Celery beat): workflow timers and the erasure of expired personal data.

Each task picks a bounded batch of ticket ids with an indexed query and calls one service per ticket.
The services lock the row and check the state again, so two workers running the same task at once, or
a task run twice, never fire a transition or send a reminder twice: the loser is refused and skipped.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tickets import evidence_files, evidence_pipeline, kept_evidence, roles, services
from tickets.exceptions import WorkflowError
from tickets.models import REMEDY_IN_FLIGHT_STATES, IdempotencyRecord, State, Ticket

log = logging.getLogger(__name__)

BATCH_SIZE = 200
MAX_BATCHES = 25  # per run; the next beat picks up the rest


def _batches(queryset):
    """Yield lists of tickets from `queryset`, oldest state change first, a batch at a time (keyset
    pagination, so rows skipped in one batch are not read again), until it is empty or the cap."""
    after = Q()
    for _batch in range(MAX_BATCHES):
        batch = list(queryset.filter(after).order_by("state_changed_at", "id")[:BATCH_SIZE])
        if not batch:
            return
        yield batch
        last = batch[-1]
        after = Q(state_changed_at__gt=last.state_changed_at) | Q(
            state_changed_at=last.state_changed_at, id__gt=last.id
        )


def _each(queryset, action):
    done = 0
    for batch in _batches(queryset):
        for ticket in batch:
            try:
                if action(ticket) is not None:
                    done += 1
            except WorkflowError as exc:
                log.info("Skipped %s: %s", ticket.reference, exc.message)
    return done


def close_unanswered_tickets(now=None):
    cutoff = (now or timezone.now()) - timedelta(days=settings.CLOSE_UNANSWERED_DAYS)
    stale = Ticket.objects.filter(state=State.AWAITING_INFO, state_changed_at__lt=cutoff)
    return _each(stale, lambda ticket: services.fire("close_unanswered", ticket=ticket))


def auto_confirm_resolved(now=None):
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUTO_CONFIRM_DAYS)
    stale = Ticket.objects.filter(state=State.RESOLVED, state_changed_at__lt=cutoff)
    return _each(
        stale,
        lambda ticket: services.fire(
            "confirm",
            ticket=ticket,
            actor=roles.SYSTEM,
            note=f"Auto-confirmed after {settings.AUTO_CONFIRM_DAYS} days",
        ),
    )


def send_info_reminders(now=None):
    cutoff = (now or timezone.now()) - timedelta(days=settings.INFO_REMINDER_DAYS)
    waiting = Ticket.objects.filter(
        state=State.AWAITING_INFO, state_changed_at__lt=cutoff, info_reminder_sent_at=None
    )
    return _each(waiting, lambda ticket: services.send_info_reminder(ticket=ticket))


@shared_task(acks_late=True)
def run_workflow_timers():
    """Close unanswered tickets, auto-confirm resolved ones, remind applicants who owe an answer."""
    now = timezone.now()
    return {
        "closed_unanswered": close_unanswered_tickets(now),
        "auto_confirmed": auto_confirm_resolved(now),
        "info_reminders": send_info_reminders(now),
    }


@shared_task(acks_late=True)
def erase_expired():
    """Erase personal data RETENTION_DAYS after a ticket ended (closed, rejected or duplicate), and
    carry out the erasure requests that waited for a remedy once it is applied or has failed."""
    cutoff = timezone.now() - timedelta(days=settings.RETENTION_DAYS)
    expired = Ticket.objects.filter(
        state__in=[State.CLOSED, State.REJECTED, State.DUPLICATE], state_changed_at__lt=cutoff, erased_at=None
    )
    requested = Ticket.objects.filter(erasure_requested_at__isnull=False, erased_at=None).exclude(
        state__in=REMEDY_IN_FLIGHT_STATES
    )
    return _each(
        expired,
        lambda ticket: services.erase_personal_data(
            ticket=ticket, actor=roles.SYSTEM, note=f"Retention period of {settings.RETENTION_DAYS} days"
        ),
    ) + _each(
        requested,
        lambda ticket: services.erase_personal_data(
            ticket=ticket, actor=roles.SYSTEM, note="Erasure request, after the remedy"
        ),
    )


@shared_task(acks_late=True)
def purge_idempotency_records():
    """Forget Idempotency-Keys after IDEMPOTENCY_KEY_HOURS: a retry is answered from them, not kept forever."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_HOURS)
    purged = 0
    for _batch in range(MAX_BATCHES):
        ids = list(
            IdempotencyRecord.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[:BATCH_SIZE]
        )
        if not ids:
            break
        purged += IdempotencyRecord.objects.filter(id__in=ids).delete()[0]
    return purged


@shared_task(acks_late=True)
def sweep_kept_evidence():
    """Delete screenshots kept for a refused form's next try once KEPT_EVIDENCE_MINUTES have passed."""
    return kept_evidence.sweep()


@shared_task(acks_late=True)
def sweep_orphan_evidence():
    """Delete evidence files that no row points at (a worker killed mid-upload) after EVIDENCE_ORPHAN_MINUTES."""
    return evidence_files.sweep_orphans()


@shared_task(acks_late=True)
def resend_tracking_link(reference, contact):
    """Match the reference and contact and send the link if they match: out of the request, so that the
    lost-link page does the same work (and takes the same time) whether they match or not."""
    return services.resend_tracking_link(reference=reference, contact=contact)


@shared_task(acks_late=True)
def process_evidence(evidence_id):
    """Decode, clean and re-encode one pending screenshot, or refuse it (the `media` queue)."""
    return evidence_pipeline.process_pending(evidence_id)


@shared_task(acks_late=True)
def sweep_pending_evidence():
    """Queue again the pending screenshots whose task was lost or whose worker died."""
    return len(evidence_pipeline.sweep_pending())
