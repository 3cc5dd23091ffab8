"""Incident jobs on the `default` queue; each is idempotent, so a retry or a second run is harmless."""

from celery import shared_task
from django.conf import settings

from incidents import services


@shared_task(acks_late=True)
def approve_confirmed(job_id):
    """Approve an incident's confirmed system proposals for INCIDENT_APPROVAL_TASK_SECONDS, then hand
    the rest to the next task (see services.run_bulk_approval)."""
    job = services.run_bulk_approval(job_id=job_id, seconds=settings.INCIDENT_APPROVAL_TASK_SECONDS)
    if job.state != services.JobState.DONE:
        services.schedule_bulk_approval(job.pk)
    return job.approved


@shared_task
def resume_bulk_approvals():
    """Take up bulk approvals whose task was lost (approving is idempotent per proposal)."""
    ids = services.stalled_bulk_approvals()
    for job_id in ids:
        services.schedule_bulk_approval(job_id)
    return len(ids)


@shared_task(acks_late=True)
def send_incident_notice(run_id):
    """Send one batch of an incident's notice, then schedule the next after a pause (the provider's
    rate); a run a crash interrupted is taken up again by `resume_incident_notices`."""
    left = services.send_notice_batch(run_id=run_id)
    if left:
        services.schedule_notice(run_id, countdown=settings.INCIDENT_NOTICE_PAUSE_SECONDS)
    return left


@shared_task
def resume_incident_notices():
    """Take up notice runs a crash interrupted (sending is idempotent per ticket and version)."""
    ids = services.unfinished_notice_runs()
    for run_id in ids:
        services.schedule_notice(run_id)
    return len(ids)
