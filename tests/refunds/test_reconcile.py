"""Reconciliation finds planted mismatches between the ledger and the remedies, stores and prints them."""

from datetime import date, datetime, time
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from refunds import services
from refunds.models import LedgerEntry, ReconciliationMismatch, Remedy, RemedyState
from refunds.reconciliation import Problem, reconcile
from refunds.tasks import reconcile_yesterday
from tests.refunds.helpers import quota_proposal
from tickets import services as tickets

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 10)
NOON = timezone.make_aware(datetime.combine(DAY, time(12)))


@pytest.fixture(autouse=True)
def _paused(settings):
    settings.REMEDIES_PAUSED = True


def applied(proposer, approver, *, at=NOON, reference="qa_1", quantity=3):
    remedy = quota_proposal(proposer, quantity=quantity)
    tickets.fire("approve", ticket=remedy.ticket, actor=approver)
    services.record_application(remedy_id=remedy.pk, provider_reference=reference, gateway="http")
    Remedy.objects.filter(pk=remedy.pk).update(applied_at=at)
    LedgerEntry.objects.filter(remedy=remedy).update(created_at=at)
    remedy.refresh_from_db()
    return remedy


def run(day=DAY):
    out, err = StringIO(), StringIO()
    try:
        call_command("reconcile", "--date", day.isoformat(), stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue()


def test_a_clean_day_exits_0_and_prints_totals(alice, sam):
    applied(alice, sam, quantity=3)
    applied(alice, sam, reference="qa_2", quantity=2)
    code, out = run()
    assert code == 0
    assert "quota: 2 ledger entries, 5 stamps" in out
    assert not ReconciliationMismatch.objects.exists()


def test_applied_remedy_without_ledger_entry_is_found(alice, sam):
    remedy = quota_proposal(alice)
    tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    Remedy.objects.filter(pk=remedy.pk).update(state=RemedyState.APPLIED, applied_at=NOON)
    code, out = run()
    assert code == 1
    assert Problem.APPLIED_WITHOUT_LEDGER in out
    mismatch = ReconciliationMismatch.objects.get()
    assert (mismatch.day, mismatch.remedy_id, mismatch.problem) == (
        DAY,
        remedy.pk,
        Problem.APPLIED_WITHOUT_LEDGER,
    )


def test_ledger_entry_without_applied_remedy_is_found(alice, sam):
    remedy = applied(alice, sam)
    Remedy.objects.filter(pk=remedy.pk).update(state=RemedyState.FAILED)
    assert [m.problem for m in reconcile(day=DAY)] == [Problem.LEDGER_WITHOUT_APPLIED_REMEDY]


def test_mismatched_quantity_is_found(alice, sam):
    remedy = applied(alice, sam, quantity=3)
    Remedy.objects.filter(pk=remedy.pk).update(quantity=30)
    (mismatch,) = reconcile(day=DAY)
    assert mismatch.problem == Problem.MISMATCHED_FIGURES
    assert "30" in mismatch.detail


def test_duplicate_application_evidence_is_found(alice, sam):
    applied(alice, sam, reference="qa_same")
    applied(alice, sam, reference="qa_same")
    problems = [m.problem for m in reconcile(day=DAY)]
    assert problems == [Problem.DUPLICATE_PROVIDER_REFERENCE]


def test_other_days_are_not_reported_and_reruns_replace_rows(alice, sam):
    remedy = applied(alice, sam)
    Remedy.objects.filter(pk=remedy.pk).update(quantity=99)
    assert len(reconcile(day=DAY)) == 1
    assert len(reconcile(day=DAY)) == 1
    assert ReconciliationMismatch.objects.filter(day=DAY).count() == 1
    assert reconcile(day=date(2026, 3, 11)) == []


def test_bad_date_is_refused():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("reconcile", "--date", "10-03-2026")


def test_beat_task_reconciles_yesterday(alice, sam, time_machine):
    time_machine.move_to(timezone.make_aware(datetime.combine(date(2026, 3, 11), time(1))))
    remedy = applied(alice, sam)
    Remedy.objects.filter(pk=remedy.pk).update(amount=5)
    assert reconcile_yesterday.delay().get() == 1
    assert ReconciliationMismatch.objects.get().day == DAY


def test_a_remedy_claimed_past_its_lease_is_found(alice, sam):
    remedy = quota_proposal(alice)
    tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    Remedy.objects.filter(pk=remedy.pk).update(claimed_at=NOON)  # a worker died, or could not record
    mismatches = reconcile(day=DAY)
    assert [(m.problem, m.remedy_id) for m in mismatches] == [(Problem.CLAIMED_PAST_LEASE, remedy.pk)]


def test_a_success_after_a_recorded_failure_is_found(alice, sam):
    remedy = quota_proposal(alice)
    tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    services.record_failure(remedy_id=remedy.pk, error="HTTP 504")
    with time_machine.travel(NOON, tick=False):
        services.record_application(remedy_id=remedy.pk, provider_reference="qa_late", gateway="http")
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.FAILED and not LedgerEntry.objects.exists()
    (mismatch,) = reconcile(day=DAY)
    assert (mismatch.problem, mismatch.remedy_id) == (Problem.SUCCESS_AFTER_FAILURE, remedy.pk)
    assert "qa_late" in mismatch.detail
