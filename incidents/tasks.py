"""Incident jobs on the `default` queue; each is idempotent, so a retry or a second run is harmless."""

from celery import shared_task

from incidents import services


@shared_task(acks_late=True)
def approve_confirmed(job_id):
    """Approve an incident's confirmed system proposals (see services.run_bulk_approval)."""
    job = services.run_bulk_approval(job_id=job_id)
    return job.approved
