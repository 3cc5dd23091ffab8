"""Thin, idempotent tasks on the `verification` queue (routed by name: `*.tasks.verify_*`)."""

from celery import shared_task

from verification import services


@shared_task(acks_late=True)
def verify_ticket(ticket_id):
    """Check one ticket against the platform's records; a platform that does not answer is tried again
    later by `verify_due` (the outcome stays unknown, with its next attempt's time)."""
    verification = services.verify_ticket(ticket_id=ticket_id)
    return verification.outcome if verification else None


@shared_task(acks_late=True)
def verify_tickets(ticket_ids):
    """Check a batch of tickets (an import's, the sweep's) against the platform's records at once."""
    services.verify_tickets(ticket_ids=ticket_ids)


@shared_task
def verify_due():
    """Schedule the verifications due another attempt (platform down, broker down at intake)."""
    ids = services.due()
    services.schedule(ids)
    return len(ids)
