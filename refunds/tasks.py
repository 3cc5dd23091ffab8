"""Thin, idempotent tasks: they take ids, reload rows and call services."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from refunds import services
from refunds.gateways import GatewayError
from refunds.reconciliation import reconcile

MAX_RETRIES = 12


def retry_delay(retries, error):
    """Backoff doubling from REMEDY_RETRY_SECONDS up to an hour, or later if the provider asks for it.

    With the defaults, twelve retries span about eight hours: an overloaded platform gets time to recover
    before a remedy is declared failed.
    """
    delay = min(settings.REMEDY_RETRY_SECONDS * 2**retries, 3600)
    return max(delay, min(error.retry_after or 0, 3600))


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def apply_remedy(self, remedy_id):
    """Apply an approved remedy; transient failures retry with backoff, then the remedy fails."""
    try:
        services.attempt_application(remedy_id=remedy_id)
    except GatewayError as exc:
        if exc.permanent or self.request.retries >= self.max_retries:
            services.record_failure(remedy_id=remedy_id, error=str(exc))
            return
        services.release(remedy_id=remedy_id, error=exc)
        raise self.retry(exc=exc, countdown=retry_delay(self.request.retries, exc)) from exc


@shared_task
def sweep_remedies():
    """Resume approved remedies that no worker is applying (a crash, or REMEDIES_PAUSED turned off)."""
    return len(services.sweep_remedies())


@shared_task
def reconcile_yesterday():
    """Compare yesterday's ledger with the remedies (Jakarta days) and store what differs."""
    day = timezone.localdate() - timedelta(days=1)
    return len(reconcile(day=day))
