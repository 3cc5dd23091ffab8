"""Thin, idempotent tasks: they take ids, reload rows and call services."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from refunds import retries, services
from refunds.gateways import GatewayError
from refunds.reconciliation import reconcile


def _after_failure(remedy_id, exc):
    """A failed attempt still holding its claim: the remedy fails for good, or is released until its
    next attempt. Returns that attempt's countdown when a task is to start it; None when the remedy
    failed, or when it is due later than the broker may hold a task (the sweep starts it then)."""
    delay = retries.next_delay(attempts=services.attempts_made(remedy_id), error=exc)
    if delay is None:
        services.record_failure(remedy_id=remedy_id, error=str(exc))
        return None
    services.release(remedy_id=remedy_id, error=exc, retry_in=delay)
    return retries.countdown_for(delay)


@shared_task(bind=True, max_retries=None, acks_late=True)
def apply_remedy(self, remedy_id):
    """Apply an approved remedy; transient failures are retried on the schedule of `refunds.retries`
    (counted on the remedy, so retries the sweep starts count too), then the remedy fails."""
    try:
        services.attempt_application(remedy_id=remedy_id)
    except GatewayError as exc:
        countdown = _after_failure(remedy_id, exc)
        if countdown is not None:
            raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(acks_late=True)
def apply_remedies(remedy_ids):
    """Apply a batch of approved remedies (a bulk approval's); each failed one goes on alone, as
    `apply_remedy` would: failed for good, or retried by its own task after the same countdown."""
    failures = services.attempt_applications(remedy_ids=remedy_ids)
    for remedy_id, exc in failures.items():
        countdown = _after_failure(remedy_id, exc)
        if countdown is not None:
            apply_remedy.apply_async((remedy_id,), countdown=countdown)


@shared_task
def sweep_remedies():
    """Start the attempts that are due and that no task is on: retries due later than a countdown may
    wait, remedies approved while REMEDIES_PAUSED, and claims of workers that died."""
    return len(services.sweep_remedies())


@shared_task
def reconcile_yesterday():
    """Compare yesterday's ledger with the remedies (Jakarta days) and store what differs."""
    day = timezone.localdate() - timedelta(days=1)
    return len(reconcile(day=day))
