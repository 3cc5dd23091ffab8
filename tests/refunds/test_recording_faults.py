"""On PostgreSQL: the database fails while a success the provider already applied is being recorded."""

import pytest
from django.db import connection
from django.utils import timezone

from refunds.models import LedgerEntry, RemedyState
from refunds.reconciliation import Problem, reconcile
from tests.refunds.helpers import quota_proposal
from tickets import services as tickets
from tickets.models import State

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture
def ledger_faults():
    """`fail(n)`: the next n ledger INSERTs fail with a serialization failure (a trigger; the sequence
    counting them is not transactional, so rolled-back attempts still count)."""

    def fail(count):
        with connection.cursor() as cursor:
            cursor.execute("CREATE SEQUENCE ledger_faults")
            cursor.execute(
                f"""
                CREATE FUNCTION ledger_fault() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF nextval('ledger_faults') <= {int(count)} THEN
                        RAISE EXCEPTION 'injected: ledger unavailable' USING ERRCODE = '40001';
                    END IF;
                    RETURN NEW;
                END $$
                """
            )
            cursor.execute(
                "CREATE TRIGGER ledger_fault BEFORE INSERT ON refunds_ledgerentry "
                "FOR EACH ROW EXECUTE FUNCTION ledger_fault()"
            )

    return fail  # created inside the test's transaction: rolled back with it


def approve(remedy, actor, run_on_commit):
    with run_on_commit(execute=True):
        tickets.fire("approve", ticket=remedy.ticket, actor=actor)  # the task runs eagerly after commit
    remedy.refresh_from_db()
    return remedy


def test_a_failed_recording_is_retried_at_once_without_calling_the_provider_again(
    alice, sam, platform_double, ledger_faults, django_capture_on_commit_callbacks
):
    ledger_faults(2)
    remedy = approve(quota_proposal(alice, quantity=2), sam, django_capture_on_commit_callbacks)
    assert remedy.state == RemedyState.APPLIED
    assert len(platform_double.requests) == 1
    assert LedgerEntry.objects.get(remedy=remedy).provider_reference == platform_double.applied[0]["id"]
    remedy.ticket.refresh_from_db()
    assert remedy.ticket.state == State.RESOLVED


def test_reconciliation_flags_a_provider_success_that_could_not_be_recorded(
    alice, sam, platform_double, ledger_faults, django_capture_on_commit_callbacks
):
    ledger_faults(100)
    remedy = approve(quota_proposal(alice), sam, django_capture_on_commit_callbacks)
    assert remedy.state == RemedyState.APPROVED and not LedgerEntry.objects.exists()
    assert platform_double.applications[str(remedy.idempotency_key)] == 1
    (mismatch,) = reconcile(day=timezone.localdate())
    assert (mismatch.problem, mismatch.remedy_id) == (Problem.APPLIED_AT_PROVIDER_NOT_RECORDED, remedy.pk)
    assert platform_double.applied[0]["id"] in mismatch.detail
