"""Many approved remedies applied by one task (`apply_remedies`): one claim, concurrent calls to the
platform double over real HTTP, each success recorded once; duplicates and crashes apply nothing twice."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from refunds import services
from refunds.models import LedgerEntry, Remedy, RemedyState
from refunds.reconciliation import reconcile
from refunds.retries import claim_lease
from refunds.tasks import apply_remedies
from tests.refunds.helpers import quota_proposal
from tickets import services as tickets
from tickets.models import State, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(alice, sam, settings):
    """`approved(n)`: n remedies approved while remedies are paused (nothing applied yet), then unpaused."""

    def make(count):
        settings.REMEDIES_PAUSED = True
        remedies = [quota_proposal(alice, quantity=2) for _ in range(count)]
        for remedy in remedies:
            tickets.fire("approve", ticket=remedy.ticket, actor=sam)
        settings.REMEDIES_PAUSED = False
        return [remedy.pk for remedy in remedies]

    return make


def applied_once(double, ids):
    remedies = Remedy.objects.filter(pk__in=ids)
    keys = {str(key) for key in remedies.values_list("idempotency_key", flat=True)}
    return (
        set(double.applications) == keys
        and set(double.applications.values()) == {1}
        and remedies.filter(state=RemedyState.APPLIED).count() == len(ids)
        and LedgerEntry.objects.filter(remedy_id__in=ids).count() == len(ids)
        and Ticket.objects.filter(remedies__in=ids, state=State.RESOLVED).count() == len(ids)
    )


def test_a_batch_is_claimed_at_once_applied_over_http_and_recorded_once(approved, platform_double, settings):
    settings.REMEDY_APPLY_THREADS = 4
    ids = approved(10)
    apply_remedies(ids)
    assert applied_once(platform_double, ids)
    assert len(platform_double.requests) == 10
    for remedy in Remedy.objects.filter(pk__in=ids):
        assert remedy.attempts == 1 and remedy.claimed_at is None
        assert remedy.provider_reference == remedy.ledger_entry.provider_reference
    assert reconcile(day=timezone.localdate()) == []


def test_schedule_applications_hands_the_remedies_over_in_batches(
    approved, platform_double, settings, django_capture_on_commit_callbacks
):
    settings.REMEDY_APPLY_BATCH = 3
    ids = approved(7)
    services.schedule_applications(ids)  # eager: three tasks of 3, 3 and 1 run inline
    assert applied_once(platform_double, ids)


def test_schedule_applications_waits_while_remedies_are_paused(approved, platform_double, settings):
    ids = approved(2)
    settings.REMEDIES_PAUSED = True
    services.schedule_applications(ids)
    assert not platform_double.requests
    assert Remedy.objects.filter(pk__in=ids, state=RemedyState.APPROVED).count() == 2


def test_a_duplicate_batch_task_sends_nothing_and_a_remedy_another_worker_holds_is_skipped(
    approved, platform_double
):
    ids = approved(4)
    assert services.claim(ids[0])  # another worker is on it
    apply_remedies(ids)
    assert len(platform_double.requests) == 3
    assert Remedy.objects.get(pk=ids[0]).state == RemedyState.APPROVED
    apply_remedies(ids)  # delivered again by the broker: nothing left to claim
    assert len(platform_double.requests) == 3
    assert Remedy.objects.filter(pk__in=ids[1:], state=RemedyState.APPLIED).count() == 3


def test_a_refusal_fails_its_remedy_only(approved, platform_double):
    ids = approved(3)
    platform_double.fail_next(400)
    apply_remedies(ids)
    assert Remedy.objects.filter(pk__in=ids, state=RemedyState.APPLIED).count() == 2
    failed = Remedy.objects.get(pk__in=ids, state=RemedyState.FAILED)
    assert "HTTP 400" in failed.last_error and failed.claimed_at is None
    assert failed.ticket.state == State.REMEDY_FAILED


def test_a_transient_failure_is_released_for_its_own_retry(approved, platform_double, time_machine):
    ids = approved(3)
    platform_double.fail_next(503)
    apply_remedies(ids)
    waiting = Remedy.objects.get(pk__in=ids, state=RemedyState.APPROVED)
    assert waiting.claimed_at is None and waiting.next_attempt_at > timezone.now()
    time_machine.move_to(waiting.next_attempt_at + timedelta(minutes=2))
    assert services.sweep_remedies() == [waiting.pk]
    assert applied_once(platform_double, ids)


class WorkerKilled(BaseException):
    """The worker process dies: nothing after this point of the task runs."""


def test_a_worker_killed_between_the_platforms_success_and_the_recording_applies_each_once(
    approved, platform_double, monkeypatch
):
    ids = approved(6)

    def killed(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(services, "record_provider_successes", killed)
    with pytest.raises(WorkerKilled):
        apply_remedies(ids)
    deadline = time.monotonic() + 10
    while len(platform_double.applied) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)  # the calls the batch started still reach the platform
    monkeypatch.undo()
    assert len(platform_double.applied) == 6  # every call the batch started reached the platform
    assert not LedgerEntry.objects.exists()
    apply_remedies(ids)  # the broker redelivers the task: the claims are live, nothing sent
    assert len(platform_double.requests) == 6

    long_ago = timezone.now() - claim_lease() - timedelta(minutes=1)
    Remedy.objects.filter(pk__in=ids).update(claimed_at=long_ago)
    assert sorted(services.sweep_remedies()) == sorted(ids)
    assert len(platform_double.requests) == 12  # each re-sent once with its key, answered 409
    assert applied_once(platform_double, ids)
    assert reconcile(day=timezone.localdate()) == []


def _recorded(remedy_id):
    """What recording a remedy's success writes, without ids and times."""
    from notifications.models import Message
    from tickets.models import TicketTransition

    remedy = Remedy.objects.get(pk=remedy_id)
    entry = remedy.ledger_entry
    log = TicketTransition.objects.get(ticket_id=remedy.ticket_id, name="remedy_applied")
    return {
        "remedy": (
            remedy.state,
            remedy.claimed_at,
            remedy.next_attempt_at,
            remedy.last_error,
            remedy.attempts,
        ),
        "ledger": (
            entry.kind,
            entry.quantity,
            entry.amount,
            entry.account == remedy.account,
            entry.gateway,
            entry.created_at == remedy.applied_at,
        ),
        "reference": entry.provider_reference == remedy.provider_reference != "",
        "ticket": remedy.ticket.state,
        "log": (log.source, log.target, log.actor_kind, log.note.startswith(f"{entry.gateway}: ")),
        "told": sorted(
            Message.objects.filter(ticket_id=remedy.ticket_id, event="remedy_applied").values_list(
                "channel", "status"
            )
        ),
    }


def test_a_batch_records_what_one_application_records(approved, platform_double):
    """The set-based recording (record_applications, fire_many) writes the rows the single path writes."""
    from refunds.tasks import apply_remedy

    single, many = approved(2), approved(3)
    for remedy_id in single:
        apply_remedy(remedy_id)
    apply_remedies(many)
    assert applied_once(platform_double, single + many)
    expected = _recorded(single[0])
    assert expected["told"]  # the applicant is told
    for remedy_id in single + many:
        assert _recorded(remedy_id) == expected
    assert reconcile(day=timezone.localdate()) == []


def test_a_batch_whose_recording_fails_records_each_on_its_own(approved, platform_double, monkeypatch):
    from django.db import OperationalError

    ids = approved(4)

    def broken(successes):
        raise OperationalError("the set-based recording failed")

    monkeypatch.setattr(services, "record_applications", broken)
    apply_remedies(ids)
    assert applied_once(platform_double, ids)
    assert reconcile(day=timezone.localdate()) == []


def test_a_success_for_a_remedy_no_longer_approved_is_noted_not_applied(approved, platform_double):
    ids = approved(3)
    Remedy.objects.filter(pk=ids[0]).update(state=RemedyState.FAILED, last_error="given up")
    successes = [(remedy_id, f"ref-{remedy_id}", "http") for remedy_id in ids]
    services.record_provider_successes(successes)
    noted = Remedy.objects.get(pk=ids[0])
    assert (noted.state, noted.provider_reference) == (RemedyState.FAILED, f"ref-{ids[0]}")
    assert not LedgerEntry.objects.filter(remedy_id=ids[0]).exists()
    assert LedgerEntry.objects.filter(remedy_id__in=ids[1:]).count() == 2
    services.record_provider_successes(successes[1:])  # recorded again (a redelivered task): nothing twice
    assert LedgerEntry.objects.filter(remedy_id__in=ids[1:]).count() == 2
