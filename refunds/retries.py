"""When an approved remedy is tried again: the one retry policy, read by the task and by the sweep.

Each failed attempt sets the remedy's `next_attempt_at` from `retry_delay`; an attempt may start only
once that time has come (`refunds.services.claim`), so a task delivered twice, a sweep and a retry
that meet never call the provider twice for one due time. A retry due within `longest_countdown()`
is the failed task's own Celery retry; one due later is left to the sweep (beat runs it every few
minutes), because the broker redelivers a task it has held unacknowledged for longer than its
visibility timeout (CELERY_VISIBILITY_TIMEOUT), waiting or not.
"""

from datetime import timedelta

from django.conf import settings

# The first attempt and twelve retries: with REMEDY_RETRY_SECONDS = 30 the retries are due 30 s, 1, 2,
# 4, 8, 16 and 32 minutes and then an hour apart, about six hours in all (plus up to one sweep interval
# for each retry left to the sweep), so an overloaded platform gets time to recover before a remedy
# is declared failed.
MAX_RETRIES = 12
MAX_ATTEMPTS = MAX_RETRIES + 1
LONGEST_DELAY_SECONDS = 3600
# The sweep leaves a remedy this long after it fell due to the task that is on its way (the one
# scheduled on approval, or the failed task's own retry) before it starts one itself.
SWEEP_GRACE = timedelta(minutes=1)


def retry_delay(retries, retry_after=None):
    """Seconds before retry number `retries + 1`: doubling from REMEDY_RETRY_SECONDS up to an hour,
    or later if the provider asked for it (Retry-After), never more than an hour."""
    delay = min(settings.REMEDY_RETRY_SECONDS * 2**retries, LONGEST_DELAY_SECONDS)
    return max(delay, min(retry_after or 0, LONGEST_DELAY_SECONDS))


def next_delay(*, attempts, error):
    """Seconds until the next attempt after `attempts` calls in this round ended in `error`, or None
    when there is none: the provider refused for good, or every attempt has been made."""
    if error.permanent or attempts >= MAX_ATTEMPTS:
        return None
    return retry_delay(max(attempts - 1, 0), error.retry_after)


def claim_lease():
    """How long a claim holds: longer than any attempt can run (the task's hard time limit)."""
    return timedelta(seconds=(settings.CELERY_TASK_TIME_LIMIT or 300) + 30)


def longest_countdown():
    """The longest Celery countdown a retry may use: the broker must not redeliver the waiting task,
    which it holds unacknowledged for the countdown and then the attempt itself (acks_late)."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    return max(int(visibility - claim_lease().total_seconds()), 0)


def countdown_for(delay):
    """The task's own retry countdown for `delay`, or None when the sweep is to start that attempt."""
    return delay if delay <= longest_countdown() else None
