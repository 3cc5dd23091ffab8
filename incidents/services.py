"""Declaring incidents and linking the reports they explain."""

import time
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents import selectors
from incidents.models import BulkApproval, Incident, IncidentNotice, IncidentTicket, JobState, NoticeRun
from notifications.models import MessageEvent
from notifications.services import notify
from refunds.services import approve_remedies
from tickets import roles
from tickets.exceptions import TransitionForbidden

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


def refuse_held_system_proposal(*, ticket):
    """Refuse the system's proposal for a report linked to an incident whose proposals wait for agents."""
    held = Incident.objects.filter(links__ticket=ticket, auto_propose=False).order_by("pk").first()
    if held is not None:
        raise _held(held.title)


def refuse_held_system_proposals(changes):
    """`refuse_held_system_proposal` for the system's proposals fired in bulk: one query for the set,
    each held item refused on its own with the same message (its first such incident's title)."""
    if not changes:
        return
    links = (
        IncidentTicket.objects.filter(
            ticket__in=[change.ticket for change in changes], incident__auto_propose=False
        )
        .order_by("incident_id")
        .values_list("ticket_id", "incident__title")
    )
    held = {}
    for ticket_id, title in links:
        held.setdefault(ticket_id, title)
    for change in changes:
        if change.ticket.pk in held:
            change.refuse(_held(held[change.ticket.pk]))


def _held(title):
    return TransitionForbidden(
        _("Incident “%(title)s” leaves its confirmed reports to an agent.") % {"title": title}
    )


def link_new_report(*, ticket):
    """At intake: link the report to every declared incident that covers it."""
    IncidentTicket.objects.bulk_create(
        [IncidentTicket(incident=incident, ticket=ticket) for incident in selectors.incidents_for(ticket)],
        ignore_conflicts=True,
    )


def start_bulk_approval(*, incident, actor):
    """Record the job with the proposals to approve, and hand it to a worker (inline in eager mode).

    Only a supervisor may start it; each item is still judged on its own when approved."""
    if not roles.is_supervisor(None, actor):
        raise PermissionDenied
    ids = list(selectors.confirmed_system_proposals(incident).order_by("pk").values_list("pk", flat=True))
    job = BulkApproval.objects.create(incident=incident, started_by=actor, remedy_ids=ids, total=len(ids))
    transaction.on_commit(lambda: schedule_bulk_approval(job.pk))
    return job


def schedule_bulk_approval(job_id):
    from incidents.tasks import approve_confirmed

    approve_confirmed.delay(job_id)


def run_bulk_approval(*, job_id, seconds=None):
    """Approve the job's proposals a chunk at a time, set-based: each item judged on its own, four eyes
    included, exactly as one approval judges it (refunds.services.approve_remedies).

    Each chunk is one transaction holding its approvals, their log and outbox rows and the job's
    progress, so the progress bar moves chunk by chunk and a worker killed in the middle leaves whole
    chunks approved or untouched. Resumable and exactly-once: running the job again (the task
    redelivered after a crash, a retry, the beat's `resume_bulk_approvals`) judges only what is not
    approved yet, and a failure is judged again. With `seconds`, the run stops after the chunk that
    passes that time and leaves the job running for the next task (a job of any size, each task well
    inside the worker's time limit). The approved count moves with each chunk's approvals, committed
    with them, and is counted again from the remedies at the end (what was approved elsewhere
    meanwhile included)."""
    job = BulkApproval.objects.select_related("started_by").get(pk=job_id)
    if job.state == JobState.DONE:
        return job
    BulkApproval.objects.filter(pk=job.pk).update(state=JobState.RUNNING, touched_at=timezone.now())
    deadline = None if seconds is None else time.monotonic() + seconds
    pending = selectors.not_approved(job.remedy_ids)
    chunk = settings.INCIDENT_APPROVAL_CHUNK
    for number, start in enumerate(range(0, len(pending), chunk)):
        if number and deadline is not None and time.monotonic() > deadline:
            job.refresh_from_db()
            return job  # still running (at least one chunk a run): the task hands the rest on
        _approve_chunk(job, pending[start : start + chunk])
    with transaction.atomic():
        _approved, failures = _locked_progress(job)
        approved = selectors.approved_among([int(remedy_id) for remedy_id in failures])
        BulkApproval.objects.filter(pk=job.pk).update(
            state=JobState.DONE,
            finished_at=timezone.now(),
            approved=selectors.approved_count(job.remedy_ids),
            failures={key: value for key, value in failures.items() if int(key) not in approved},
        )
    job.refresh_from_db()
    return job


def stalled_bulk_approvals():
    """Jobs not done with no chunk committed for longer than the lease: their task was lost (a worker
    killed past the broker's redelivery, the time limit, a broker that lost it before it started)."""
    return _untouched(BulkApproval, settings.INCIDENT_APPROVAL_LEASE_SECONDS)


def _untouched(model, lease_seconds):
    """The ids of a job model's rows not done and not touched for `lease_seconds`."""
    stale = timezone.now() - timedelta(seconds=lease_seconds)
    return list(
        model.objects.exclude(state=JobState.DONE).filter(touched_at__lt=stale).values_list("pk", flat=True)
    )


def _locked_progress(job):
    """The job's approved count and failures so far, its row locked: two runs of one job (a task
    delivered again while the first still runs) take turns chunk by chunk instead of overwriting each
    other's progress."""
    return BulkApproval.objects.select_for_update().values_list("approved", "failures").get(pk=job.pk)


@transaction.atomic
def _approve_chunk(job, chunk):
    """One chunk: its approvals and the job's progress commit together. What another run of this job
    approved meanwhile is skipped; a refusal of a proposal someone approved meanwhile is no failure."""
    approved_so_far, failures = _locked_progress(job)
    chunk = selectors.not_approved(chunk)
    references = selectors.ticket_references(chunk)
    results = approve_remedies(ids=chunk, actor=job.started_by)
    approved = {result.id for result in results if result.ok}
    approved |= selectors.approved_among([result.id for result in results if not result.ok])
    for result in results:
        if result.id in approved:
            failures.pop(str(result.id), None)
        else:
            failures[str(result.id)] = {"ticket": references.get(result.id, ""), "error": result.error}
    BulkApproval.objects.filter(pk=job.pk).update(
        approved=approved_so_far + len(approved), failures=failures, touched_at=timezone.now()
    )


def start_notice(*, incident, actor):
    """A supervisor sends the incident's current notice to every applicant of its linked reports."""
    if not roles.is_supervisor(None, actor):
        raise PermissionDenied
    run = NoticeRun.objects.create(incident=incident, version=incident.notice_version, started_by=actor)
    transaction.on_commit(lambda: schedule_notice(run.pk))
    return run


def schedule_notice(run_id, *, countdown=0):
    from incidents.tasks import send_incident_notice

    send_incident_notice.apply_async((run_id,), countdown=countdown or None)


def send_notice_batch(*, run_id):
    """Send the notice to the next batch of linked tickets that have not had this version; returns how
    many are left. The batch's marker rows (unique per incident, ticket and version) and the outbox
    messages of the tickets it marked commit together, in one transaction handed to the broker in one
    publish: a ticket another worker or an earlier run marked already is skipped, never sent twice."""
    run = NoticeRun.objects.select_related("incident").get(pk=run_id)
    if run.state == JobState.DONE:
        return 0
    NoticeRun.objects.filter(pk=run.pk).update(state=JobState.RUNNING, touched_at=timezone.now())
    incident = run.incident
    due = list(selectors.notice_due(run)[: settings.INCIDENT_NOTICE_BATCH])
    with transaction.atomic():
        marked = _mark_noticed(incident, [ticket.pk for ticket in due], run.version)
        for ticket in due:
            if ticket.pk in marked:
                notify(
                    ticket=ticket,
                    event=MessageEvent.INCIDENT_NOTICE,
                    message=incident.notice(ticket.language),
                )
    left = selectors.notice_due(run).count()
    if left == 0:
        NoticeRun.objects.filter(pk=run.pk).update(state=JobState.DONE, finished_at=timezone.now())
    return left


def _mark_noticed(incident, ticket_ids, version):
    """Insert the marker rows of these tickets; the ids of those inserted now (a concurrent run's rows
    are waited for and left out: ON CONFLICT DO NOTHING)."""
    if not ticket_ids:
        return set()
    table = connection.ops.quote_name(IncidentNotice._meta.db_table)
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(ticket_ids))
    sent_at = connection.ops.adapt_datetimefield_value(timezone.now())
    values = [value for ticket_id in ticket_ids for value in (incident.pk, ticket_id, version, sent_at)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (incident_id, ticket_id, version, sent_at) VALUES {rows} "  # noqa: S608
            "ON CONFLICT (incident_id, ticket_id, version) DO NOTHING RETURNING ticket_id",
            values,
        )
        return {row[0] for row in cursor.fetchall()}


def unfinished_notice_runs():
    """Runs not done whose last batch started longer ago than the lease: their chain of tasks died."""
    return _untouched(NoticeRun, settings.INCIDENT_NOTICE_LEASE_SECONDS)
