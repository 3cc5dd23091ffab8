"""On PostgreSQL: simultaneous approvals and simultaneous workers apply a remedy once, and approving,
applying and erasing many tickets at once never deadlocks (one lock order: the ticket, then its remedy)."""

import time

import pytest
from rest_framework.test import APIClient

from refunds import consistency, services
from refunds.models import LedgerEntry, Remedy, RemedyState
from tests.conftest import _staff
from tests.refunds.helpers import quota_proposal, refund_proposal
from tests.tickets.test_concurrency import run_at_once
from tickets import services as tickets
from tickets.models import State, Ticket
from tickets.tasks import erase_expired

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def approve_over_api(user, remedy):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(f"/api/v1/tickets/{remedy.ticket.reference}/transitions/approve/", {}, format="json")


def test_eight_concurrent_approvals_apply_once(alice, sam, sue, platform_double):
    supervisors = [sam, sue] + [_staff(f"sup{index}", "Supervisors") for index in range(6)]
    remedy = quota_proposal(alice)
    outcomes = run_at_once(*(lambda user=user: approve_over_api(user, remedy) for user in supervisors))
    statuses = sorted(getattr(outcome, "status_code", outcome) for outcome in outcomes)
    assert statuses == [200] + [409] * 7, outcomes
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.APPLIED
    assert remedy.ticket.transitions.filter(name="approve").count() == 1
    assert platform_double.applications[str(remedy.idempotency_key)] == 1
    assert len(platform_double.requests) == 1
    assert LedgerEntry.objects.filter(remedy=remedy).count() == 1


def test_double_clicked_bulk_approvals_apply_once(alice, sam):
    remedies = [quota_proposal(alice) for _ in range(5)]
    ids = [remedy.pk for remedy in remedies]
    outcomes = run_at_once(*(lambda: services.approve_remedies(ids=ids, actor=sam) for _ in range(3)))
    oks = [result.ok for outcome in outcomes for result in outcome]
    assert oks.count(True) == 5, outcomes
    assert LedgerEntry.objects.count() == 5


def test_workers_running_one_remedy_at_once_call_the_provider_once(alice, sam, platform_double, settings):
    settings.REMEDIES_PAUSED = True
    remedy = quota_proposal(alice)
    tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    platform_double.timeout_next(0.3)  # the first worker's call is slow: the others arrive meanwhile
    outcomes = run_at_once(*(lambda: services.attempt_application(remedy_id=remedy.pk) for _ in range(4)))
    assert not any(isinstance(outcome, Exception) for outcome in outcomes), outcomes
    assert len(platform_double.requests) == 1
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.APPLIED
    assert remedy.attempts == 1
    assert LedgerEntry.objects.filter(remedy=remedy).count() == 1
    assert remedy.ticket.transitions.filter(name="remedy_applied").count() == 1
    remedy.ticket.refresh_from_db()
    assert remedy.ticket.state == State.RESOLVED


def worker_applying(remedy_id, attempts=300):
    """A worker that keeps trying until the remedy is applied (it may arrive before the approval)."""
    for _ in range(attempts):
        if services.attempt_application(remedy_id=remedy_id):
            return True
        time.sleep(0.02)
    return False


def test_approving_applying_and_erasing_many_tickets_at_once_never_deadlocks(alice, sam):
    remedies = [quota_proposal(alice) for _ in range(6)] + [refund_proposal(alice) for _ in range(6)]
    one_by_one, in_bulk = remedies[::2], remedies[1::2]
    calls = [lambda r=r: tickets.fire("approve", ticket=r.ticket, actor=sam) for r in one_by_one]
    calls.append(lambda: services.approve_remedies(ids=[r.pk for r in in_bulk], actor=sam))
    calls += [lambda r=r: worker_applying(r.pk) for r in remedies]
    calls += [lambda r=r: tickets.erase_personal_data(ticket=r.ticket, actor=alice) for r in remedies]
    calls += [erase_expired, services.sweep_remedies]

    outcomes = run_at_once(*calls)

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    approved_in_bulk = outcomes[len(one_by_one)]
    assert [result.ok for result in approved_in_bulk] == [True] * len(in_bulk)
    erase_expired()  # the requests that waited for their remedy, as the hourly task does
    assert_applied_once_and_erased(remedies)


def test_retrying_recording_a_late_success_and_erasing_at_once_never_deadlocks(alice, sam, settings):
    """Failed remedies: a supervisor retries each while the provider's late success for it is recorded,
    a worker applies it and an agent erases the ticket, all at once."""
    settings.REMEDIES_PAUSED = True
    remedies = [quota_proposal(alice) for _ in range(6)] + [refund_proposal(alice) for _ in range(6)]
    for remedy in remedies:
        tickets.fire("approve", ticket=remedy.ticket, actor=sam)
        services.record_failure(remedy_id=remedy.pk, error="HTTP 503")
    settings.REMEDIES_PAUSED = False
    calls = [lambda r=r: tickets.fire("retry_remedy", ticket=r.ticket, actor=sam) for r in remedies]
    calls += [
        lambda r=r: services.record_application(
            remedy_id=r.pk, provider_reference=f"late-{r.pk}", gateway="ledger"
        )
        for r in remedies
    ]
    calls += [lambda r=r: worker_applying(r.pk) for r in remedies]
    calls += [lambda r=r: tickets.erase_personal_data(ticket=r.ticket, actor=alice) for r in remedies]
    calls += [erase_expired, services.sweep_remedies]

    outcomes = run_at_once(*calls)

    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    erase_expired()
    assert_applied_once_and_erased(remedies)


def assert_applied_once_and_erased(remedies):
    for remedy in remedies:
        ticket = Ticket.objects.get(pk=remedy.ticket_id)
        remedy = Remedy.objects.get(pk=remedy.pk)
        assert (ticket.state, remedy.state) == (State.RESOLVED, RemedyState.APPLIED)
        consistency.check(ticket)
        assert ticket.erased_at is not None and ticket.nik == ""
        assert LedgerEntry.objects.filter(remedy=remedy).count() == 1
        assert ticket.transitions.filter(name="remedy_applied").count() == 1
        if not remedy.is_quota:
            assert remedy.payout_account == tickets.REDACTED
