"""Thin, idempotent tasks: they take ids, reload rows and call services."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from refunds import retries, services
from refunds.gateways import GatewayError
from refunds.reconciliation import reconcile


@shared_task(bind=True, max_retries=None, acks_late=True)
def apply_remedy(self, remedy_id):
    """Apply an approved remedy; transient failures are retried on the schedule of `refunds.retries`
    (counted on the remedy, so retries the sweep starts count too), then the remedy fails."""
    try:
        services.attempt_application(remedy_id=remedy_id)
    except GatewayError as exc:
        delay = retries.next_delay(attempts=services.attempts_made(remedy_id), error=exc)
        if delay is None:
            services.record_failure(remedy_id=remedy_id, error=str(exc))
            return
        services.release(remedy_id=remedy_id, error=exc, retry_in=delay)
        countdown = retries.countdown_for(delay)
        if countdown is not None:
            raise self.retry(exc=exc, countdown=countdown) from exc
        # Due later than the broker may hold a task: the sweep starts the next attempt when it is due.


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
