"""Declaring incidents and linking the reports they explain."""

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from incidents import selectors
from incidents.models import BulkApproval, Incident, IncidentTicket, JobState
from refunds.services import approve_remedies
from tickets import roles

BATCH = 2000


def link(*, incident):
    """Link every matching report (set-based, idempotent) and unlink those the window no longer covers.

    Returns the number of links the incident has afterwards."""
    matching = selectors.matching_tickets(incident)
    IncidentTicket.objects.filter(incident=incident).exclude(ticket__in=matching).delete()
    now = timezone.now()
    ids = matching.exclude(incident_links__incident=incident).values_list("pk", flat=True)
    batch = []
    for ticket_id in ids.iterator(chunk_size=BATCH):
        batch.append(IncidentTicket(incident=incident, ticket_id=ticket_id, linked_at=now))
        if len(batch) >= BATCH:
            IncidentTicket.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    IncidentTicket.objects.bulk_create(batch, ignore_conflicts=True)
    return IncidentTicket.objects.filter(incident=incident).count()


@transaction.atomic
def declare_incident(*, actor, **fields):
    """A supervisor declares an incident; reports already in its window are linked at once."""
    incident = Incident(declared_by=actor, declared_at=timezone.now(), **fields)
    incident.full_clean()
    incident.save()
    link(incident=incident)
    selectors.forget_open_incidents()
    transaction.on_commit(selectors.forget_open_incidents)
    return incident


@transaction.atomic
def update_window(*, incident, starts_at=None, ends_at=None, failed=None, end_now=False):
    """Change the window (or what failed) and relink; `end_now` closes an open incident now."""
    if starts_at is not None:
        incident.starts_at = starts_at
    if end_now:
        incident.ends_at = timezone.now()
    elif ends_at is not None:
        incident.ends_at = ends_at
    if failed is not None:
        incident.failed = failed
    incident.full_clean()
    incident.save()
    link(incident=incident)
    selectors.forget_open_incidents()
    transaction.on_commit(selectors.forget_open_incidents)
    return incident


def link_new_report(*, ticket):
    """At intake: link the report to every declared incident that covers it."""
    IncidentTicket.objects.bulk_create(
        [IncidentTicket(incident=incident, ticket=ticket) for incident in selectors.incidents_for(ticket)],
        ignore_conflicts=True,
    )


CHUNK = 200


def start_bulk_approval(*, incident, actor):
    """Record the job with the proposals to approve, and hand it to a worker (inline in eager mode).

    Only a supervisor may start it; each item is still judged on its own when approved."""
    if not roles.is_supervisor(None, actor):
        raise PermissionDenied
    ids = list(selectors.confirmed_system_proposals(incident).order_by("pk").values_list("pk", flat=True))
    job = BulkApproval.objects.create(incident=incident, started_by=actor, remedy_ids=ids, total=len(ids))
    transaction.on_commit(lambda: _schedule_bulk_approval(job.pk))
    return job


def _schedule_bulk_approval(job_id):
    from incidents.tasks import approve_confirmed

    approve_confirmed.delay(job_id)


def run_bulk_approval(*, job_id):
    """Approve the job's proposals, each in its own transaction with the four-eyes rule judged for it
    (refunds.services.approve_remedies), storing progress and failures after every chunk.

    Resumable: a proposal approved already is no longer proposed, so running the job again (a worker
    killed, a retry) skips it; the approved count is read from the remedies, never added up twice."""
    job = BulkApproval.objects.select_related("started_by").get(pk=job_id)
    if job.state == JobState.DONE:
        return job
    BulkApproval.objects.filter(pk=job.pk).update(state=JobState.RUNNING)
    pending = selectors.still_proposed(job.remedy_ids)
    failures = dict(job.failures)
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start : start + CHUNK]
        references = selectors.ticket_references(chunk)
        for result in approve_remedies(ids=chunk, actor=job.started_by):
            if result.ok:
                failures.pop(str(result.id), None)
            else:
                failures[str(result.id)] = {"ticket": references.get(result.id, ""), "error": result.error}
        BulkApproval.objects.filter(pk=job.pk).update(
            approved=selectors.approved_count(job.remedy_ids), failures=failures
        )
    BulkApproval.objects.filter(pk=job.pk).update(
        state=JobState.DONE,
        finished_at=timezone.now(),
        approved=selectors.approved_count(job.remedy_ids),
        failures=failures,
    )
    job.refresh_from_db()
    return job
