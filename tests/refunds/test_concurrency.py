"""On PostgreSQL: simultaneous approvals and simultaneous workers apply a remedy once."""

import pytest
from rest_framework.test import APIClient

from refunds import services
from refunds.models import LedgerEntry, RemedyState
from tests.conftest import _staff
from tests.refunds.helpers import quota_proposal
from tests.tickets.test_concurrency import run_at_once
from tickets import services as tickets
from tickets.models import State

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
