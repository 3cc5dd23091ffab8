"""The remedy retry policy, stated once: due times on the remedy, countdowns the broker can hold, and
a sweep that starts only what is due, so retries over hours call the provider exactly once each."""

from datetime import timedelta

import pytest
from celery.signals import task_retry
from django.utils import timezone

from refunds import retries, services
from refunds.models import LedgerEntry, RemedyState
from refunds.tasks import apply_remedy
from tests.doubles.base import Reply
from tests.refunds.helpers import quota_proposal
from tickets import services as tickets
from tickets.models import State, Ticket

pytestmark = pytest.mark.django_db

SWEEP_EVERY = timedelta(minutes=1)
EIGHT_HOURS = timedelta(hours=8)


@pytest.fixture
def celery_retries():
    """The countdowns of the Celery retries tasks ask for while the test runs."""
    asked = []

    def record(reason, **kwargs):
        asked.append(reason.when)

    task_retry.connect(record, weak=False)
    yield asked
    task_retry.disconnect(record)


@pytest.fixture
def production_schedule(settings):
    settings.REMEDY_RETRY_SECONDS = 30  # the default; the test settings shorten it for the worker tests
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 600}
    settings.CELERY_TASK_TIME_LIMIT = 120


def run_beat_for(duration, time_machine, remedy_id, platform_double):
    """Run the sweep every minute for `duration`, with a duplicate of the remedy's task delivered at each
    tick too (a broker redelivering, a double click): returns when each provider call happened."""
    calls = []
    start = timezone.now()
    seen = len(platform_double.requests)
    now = start
    while now - start < duration:
        now += SWEEP_EVERY
        time_machine.move_to(now, tick=False)
        services.sweep_remedies()
        apply_remedy.delay(remedy_id)
        calls += [now] * (len(platform_double.requests) - seen)
        seen = len(platform_double.requests)
    return calls


def test_twelve_retries_over_hours_call_the_platform_exactly_twelve_times(
    production_schedule, alice, sam, platform_double, time_machine, django_capture_on_commit_callbacks
):
    platform_double.fail_next(*[503] * retries.MAX_ATTEMPTS)
    time_machine.move_to(timezone.now(), tick=False)
    remedy = quota_proposal(alice)
    with django_capture_on_commit_callbacks(execute=True):
        tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    assert len(platform_double.requests) == 1  # the first attempt, on approval

    retried_at = run_beat_for(EIGHT_HOURS, time_machine, remedy.pk, platform_double)

    assert len(retried_at) == retries.MAX_RETRIES == 12
    assert len(platform_double.requests) == 13
    assert {r.headers["Idempotency-Key"] for r in platform_double.requests} == {str(remedy.idempotency_key)}
    remedy.refresh_from_db()
    assert (remedy.state, remedy.attempts, remedy.next_attempt_at) == (RemedyState.FAILED, 13, None)
    assert Ticket.objects.get(pk=remedy.ticket_id).state == State.REMEDY_FAILED
    # Each retry waited its backoff, and no longer than the sweep's grace and one tick beyond it.
    gaps = [later - earlier for earlier, later in zip(retried_at, retried_at[1:], strict=False)]
    for number, gap in enumerate(gaps, start=1):
        due = timedelta(seconds=retries.retry_delay(number))
        assert due <= gap <= due + retries.SWEEP_GRACE + 2 * SWEEP_EVERY, (number, gaps)
    assert timedelta(hours=5) < retried_at[-1] - retried_at[0] < EIGHT_HOURS


def test_a_remedy_that_succeeds_on_its_twelfth_retry_is_applied_once(
    production_schedule, alice, sam, platform_double, time_machine, django_capture_on_commit_callbacks
):
    platform_double.fail_next(*[503] * retries.MAX_RETRIES)
    time_machine.move_to(timezone.now(), tick=False)
    remedy = quota_proposal(alice)
    with django_capture_on_commit_callbacks(execute=True):
        tickets.fire("approve", ticket=remedy.ticket, actor=sam)

    retried_at = run_beat_for(EIGHT_HOURS, time_machine, remedy.pk, platform_double)

    assert len(retried_at) == 12
    assert platform_double.applications[str(remedy.idempotency_key)] == 1
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.APPLIED
    assert LedgerEntry.objects.filter(remedy=remedy).count() == 1


def test_the_sweep_takes_only_what_is_due_and_not_claimed(production_schedule, alice, sam, settings):
    settings.REMEDIES_PAUSED = True
    remedy = quota_proposal(alice)
    tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    settings.REMEDIES_PAUSED = False
    now = timezone.now()
    assert list(services.due_remedies(now=now)) == []  # its task is on the way
    assert list(services.due_remedies(now=now + retries.SWEEP_GRACE * 2)) == [remedy]
    assert services.claim(remedy.pk)
    later = now + retries.SWEEP_GRACE * 2
    assert list(services.due_remedies(now=later)) == []  # a live claim
    assert list(services.due_remedies(now=later + retries.claim_lease())) == [remedy]  # its worker died
    services.release(remedy_id=remedy.pk, error="HTTP 503", retry_in=3600)
    assert list(services.due_remedies(now=later + timedelta(minutes=30))) == []
    assert not services.claim(remedy.pk)  # not due: a duplicate task does nothing
    assert list(services.due_remedies(now=now + timedelta(minutes=62))) == [remedy]


@pytest.mark.parametrize("retry_after", [None, 30, 600, 86400])
def test_no_countdown_is_longer_than_the_broker_holds_a_task(production_schedule, retry_after):
    for number in range(retries.MAX_RETRIES):
        countdown = retries.countdown_for(retries.retry_delay(number, retry_after))
        assert countdown is None or countdown + retries.claim_lease().total_seconds() <= 600
    assert retries.countdown_for(retries.retry_delay(0)) == 30  # early retries stay with the task
    assert retries.countdown_for(retries.retry_delay(7)) is None  # an hour away: the sweep's


def test_a_retry_due_in_an_hour_is_left_to_the_sweep_not_to_a_countdown(
    production_schedule, alice, sam, platform_double, settings, celery_retries
):
    settings.REMEDIES_PAUSED = True
    remedy = quota_proposal(alice)
    tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    platform_double.script(Reply(429, {"error": "slow down"}, headers={"Retry-After": "3600"}))
    apply_remedy.apply(args=[remedy.pk])
    assert celery_retries == []  # no Celery retry was scheduled
    remedy.refresh_from_db()
    assert remedy.next_attempt_at >= timezone.now() + timedelta(minutes=59)
    assert (remedy.state, remedy.claimed_at, remedy.attempts) == (RemedyState.APPROVED, None, 1)


def test_a_retry_due_soon_is_the_tasks_own(
    production_schedule, alice, sam, platform_double, settings, celery_retries
):
    settings.REMEDIES_PAUSED = True
    remedy = quota_proposal(alice)
    tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    platform_double.fail_next(503)
    apply_remedy.apply(args=[remedy.pk])
    assert celery_retries == [30]
    remedy.refresh_from_db()
    assert len(platform_double.requests) == 1  # the eager retry ran at once, before it was due: refused
    assert remedy.next_attempt_at > timezone.now() + timedelta(seconds=20)
