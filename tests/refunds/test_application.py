"""Applying approved remedies exactly once, against the provider doubles over real HTTP."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from refunds import services
from refunds.gateways import GatewayError, HttpQuotaGateway, gateway_for
from refunds.models import LedgerEntry, Remedy, RemedyState
from refunds.retries import MAX_ATTEMPTS, claim_lease
from refunds.tasks import apply_remedy
from tests.doubles.base import Reply
from tests.refunds.helpers import quota_proposal, refund_proposal, sweep_when_due
from tickets import services as tickets
from tickets.exceptions import TransitionNotAllowed
from tickets.models import State, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def approve(django_capture_on_commit_callbacks):
    """Approve as a supervisor and run what the approval schedules after commit (tasks run eagerly)."""

    def run(remedy, actor):
        with django_capture_on_commit_callbacks(execute=True):
            tickets.fire("approve", ticket=remedy.ticket, actor=actor)
        remedy.refresh_from_db()
        remedy.ticket.refresh_from_db()
        return remedy

    return run


def keys(double):
    return [request.headers["Idempotency-Key"] for request in double.requests]


def test_ledger_gateway_applies_once_with_a_ledger_entry_and_resolves_the_ticket(approve, alice, sam):
    remedy = approve(quota_proposal(alice, quantity=4), sam)
    assert remedy.state == RemedyState.APPLIED
    assert remedy.ticket.state == State.RESOLVED
    entry = LedgerEntry.objects.get()
    assert (entry.remedy, entry.kind, entry.quantity, entry.gateway) == (remedy, "quota", 4, "ledger")
    assert entry.provider_reference == remedy.provider_reference == f"LEDGER-{remedy.idempotency_key}"
    assert remedy.ticket.transitions.filter(name="remedy_applied", actor_kind="system").count() == 1


def test_platform_receives_the_contract_request(approve, alice, sam, platform_double):
    remedy = approve(quota_proposal(alice, quantity=2), sam)
    (request,) = platform_double.requests
    assert request.path == "/v1/quota-adjustments"
    assert request.bearer_token() == platform_double.token
    assert request.headers["Idempotency-Key"] == str(remedy.idempotency_key)
    assert request.body == {"account": remedy.account, "quantity": 2, "reference": remedy.ticket.reference}
    assert remedy.state == RemedyState.APPLIED
    assert remedy.provider_reference == platform_double.applied[0]["id"]
    assert LedgerEntry.objects.get().gateway == "http"


def test_platform_503_then_502_then_success_applies_once_with_one_key(
    approve, alice, sam, platform_double, time_machine
):
    platform_double.fail_next(503, 502)
    remedy = sweep_when_due(approve(quota_proposal(alice), sam), time_machine)
    assert keys(platform_double) == [str(remedy.idempotency_key)] * 3
    assert platform_double.applications[str(remedy.idempotency_key)] == 1
    assert remedy.state == RemedyState.APPLIED
    assert remedy.attempts == 3
    assert remedy.claimed_at is None
    assert LedgerEntry.objects.filter(remedy=remedy).count() == 1
    assert remedy.ticket.state == State.RESOLVED


def test_platform_409_already_applied_counts_as_success(approve, alice, sam, platform_double):
    remedy = quota_proposal(alice, quantity=2)
    first = requests.post(
        f"{platform_double.url}/v1/quota-adjustments",
        json={"account": remedy.account, "quantity": 2, "reference": remedy.ticket.reference},
        headers={
            "Authorization": f"Bearer {platform_double.token}",
            "Idempotency-Key": str(remedy.idempotency_key),
        },
        timeout=5,
    )
    assert first.status_code == 201
    remedy = approve(remedy, sam)
    assert len(platform_double.requests) == 2
    assert remedy.state == RemedyState.APPLIED
    assert remedy.provider_reference == first.json()["id"]
    assert platform_double.applications[str(remedy.idempotency_key)] == 1
    assert LedgerEntry.objects.count() == 1


def test_platform_400_fails_the_remedy_and_a_supervisor_retries_it(
    approve, alice, sam, platform_double, django_capture_on_commit_callbacks
):
    platform_double.fail_next(400)
    remedy = approve(quota_proposal(alice), sam)
    assert remedy.state == RemedyState.FAILED
    assert remedy.ticket.state == State.REMEDY_FAILED
    assert "400" in remedy.last_error
    assert len(platform_double.requests) == 1  # a final refusal is not retried
    assert not LedgerEntry.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        tickets.fire("retry_remedy", ticket=remedy.ticket, actor=sam)
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.APPLIED
    assert Ticket.objects.get(pk=remedy.ticket_id).state == State.RESOLVED
    assert set(keys(platform_double)) == {str(remedy.idempotency_key)}
    assert platform_double.applications[str(remedy.idempotency_key)] == 1
    assert LedgerEntry.objects.filter(remedy=remedy).count() == 1


def test_wrong_token_is_a_final_failure(approve, alice, sam, platform_double, settings):
    settings.QUOTA_PLATFORM_TOKEN = "not-the-token"
    remedy = approve(quota_proposal(alice), sam)
    assert remedy.state == RemedyState.FAILED
    assert "401" in remedy.last_error
    assert not platform_double.applied


def test_unconfigured_http_gateway_fails_for_good(approve, alice, sam, settings):
    settings.QUOTA_GATEWAY = "http"
    settings.QUOTA_PLATFORM_URL = None
    remedy = approve(quota_proposal(alice), sam)
    assert remedy.state == RemedyState.FAILED
    assert remedy.ticket.state == State.REMEDY_FAILED


def test_timeouts_are_retried_and_apply_once(approve, alice, sam, platform_double, settings, time_machine):
    settings.GATEWAY_TIMEOUT_SECONDS = 0.2
    platform_double.timeout_next(0.6, count=2)
    remedy = sweep_when_due(approve(quota_proposal(alice), sam), time_machine)
    assert remedy.state == RemedyState.APPLIED
    assert remedy.attempts == 3
    assert platform_double.applications[str(remedy.idempotency_key)] == 1
    assert LedgerEntry.objects.filter(remedy=remedy).count() == 1


def test_provider_applied_but_answer_lost_resends_same_key_and_applies_once(
    approve, alice, sam, platform_double, time_machine
):
    platform_double.apply_then_drop()
    remedy = sweep_when_due(approve(quota_proposal(alice), sam), time_machine)
    assert keys(platform_double) == [str(remedy.idempotency_key)] * 2
    assert platform_double.applications[str(remedy.idempotency_key)] == 1
    assert remedy.state == RemedyState.APPLIED
    assert remedy.provider_reference == platform_double.applied[0]["id"]
    assert LedgerEntry.objects.filter(remedy=remedy).count() == 1


def test_worker_killed_after_provider_success_is_resumed_by_the_sweep_once(
    alice, sam, platform_double, settings
):
    settings.REMEDIES_PAUSED = True
    remedy = quota_proposal(alice)
    tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    # The worker claims the remedy, the platform applies it, and the worker dies before our commit.
    assert services.claim(remedy.pk)
    remedy.refresh_from_db()
    gateway_for(remedy).apply(remedy)
    assert not services.claim(remedy.pk)  # a live claim keeps every other worker off
    assert services.attempt_application(remedy_id=remedy.pk) is False
    assert len(platform_double.requests) == 1

    long_ago = timezone.now() - claim_lease() - timedelta(minutes=1)
    Remedy.objects.filter(pk=remedy.pk).update(claimed_at=long_ago, approved_at=long_ago)
    settings.REMEDIES_PAUSED = False
    assert services.sweep_remedies() == [remedy.pk]

    remedy.refresh_from_db()
    assert remedy.state == RemedyState.APPLIED
    assert [r.headers["Idempotency-Key"] for r in platform_double.requests] == [
        str(remedy.idempotency_key)
    ] * 2
    assert platform_double.applications[str(remedy.idempotency_key)] == 1
    assert LedgerEntry.objects.filter(remedy=remedy).count() == 1
    assert Ticket.objects.get(pk=remedy.ticket_id).state == State.RESOLVED


def test_running_the_task_again_after_success_sends_nothing(approve, alice, sam, platform_double):
    remedy = approve(quota_proposal(alice), sam)
    apply_remedy.delay(remedy.pk)
    assert services.attempt_application(remedy_id=remedy.pk) is True
    assert len(platform_double.requests) == 1
    assert LedgerEntry.objects.count() == 1
    assert remedy.ticket.transitions.filter(name="remedy_applied").count() == 1


def test_recording_twice_writes_one_ledger_entry_and_one_transition(approve, alice, sam, settings):
    settings.REMEDIES_PAUSED = True
    remedy = approve(quota_proposal(alice), sam)
    services.record_application(remedy_id=remedy.pk, provider_reference="qa_1", gateway="http")
    services.record_application(remedy_id=remedy.pk, provider_reference="qa_2", gateway="http")
    assert LedgerEntry.objects.get().provider_reference == "qa_1"
    assert remedy.ticket.transitions.filter(name="remedy_applied").count() == 1


def test_ledger_entry_and_resolution_are_written_together(approve, alice, sam, settings):
    settings.REMEDIES_PAUSED = True
    remedy = approve(quota_proposal(alice), sam)
    Ticket.objects.filter(pk=remedy.ticket_id).update(state=State.IN_REVIEW)  # the ticket moved meanwhile
    with pytest.raises(TransitionNotAllowed):
        services.record_application(remedy_id=remedy.pk, provider_reference="qa_1", gateway="http")
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.APPROVED
    assert not LedgerEntry.objects.exists()


def test_exhausted_retries_fail_the_remedy(approve, alice, sam, platform_double, time_machine):
    platform_double.fail_next(*[503] * MAX_ATTEMPTS)
    remedy = sweep_when_due(approve(quota_proposal(alice), sam), time_machine)
    assert len(platform_double.requests) == MAX_ATTEMPTS
    assert remedy.state == RemedyState.FAILED
    assert remedy.ticket.state == State.REMEDY_FAILED
    assert not platform_double.applied


def test_refund_goes_to_the_payout_provider(approve, alice, sam, payout_double):
    remedy = approve(refund_proposal(alice, amount=75_000), sam)
    (request,) = payout_double.requests
    assert request.path == "/v1/payouts"
    assert request.bearer_token() == payout_double.token
    assert request.headers["Idempotency-Key"] == str(remedy.idempotency_key)
    assert request.body == {
        "amount": 75_000,
        "currency": "IDR",
        "method": "bank",
        "account": "BCA 1234567890",
        "name": "Siti Aminah",
        "reference": remedy.ticket.reference,
    }
    assert remedy.state == RemedyState.APPLIED
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.quantity) == ("refund", 75_000, 0)


def test_payout_500_after_applying_is_retried_into_a_409(approve, alice, sam, payout_double, time_machine):
    payout_double.apply_then_fail(500)
    remedy = sweep_when_due(approve(refund_proposal(alice), sam), time_machine)
    assert len(payout_double.requests) == 2
    assert payout_double.applications[str(remedy.idempotency_key)] == 1
    assert remedy.state == RemedyState.APPLIED
    assert LedgerEntry.objects.count() == 1


def test_paused_remedies_wait_and_the_sweep_resumes_them(approve, alice, sam, platform_double, settings):
    settings.REMEDIES_PAUSED = True
    remedy = approve(quota_proposal(alice), sam)
    assert remedy.state == RemedyState.APPROVED
    assert services.sweep_remedies() == []
    assert not platform_double.requests
    settings.REMEDIES_PAUSED = False
    assert services.sweep_remedies() == []  # just approved: its own task is on the way
    Remedy.objects.filter(pk=remedy.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert services.sweep_remedies() == [remedy.pk]
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.APPLIED
    assert services.sweep_remedies() == []


@pytest.mark.parametrize(
    ("status", "permanent"), [(429, False), (500, False), (504, False), (404, True), (422, True)]
)
def test_gateway_maps_provider_statuses(http_double, status, permanent, alice):
    http_double.script(Reply(status, {"error": "x"}))
    remedy = quota_proposal(alice)
    with pytest.raises(GatewayError) as raised:
        HttpQuotaGateway(http_double.url, "t").apply(remedy)
    assert raised.value.permanent is permanent


def test_gateway_reads_the_reference_from_201_and_409(http_double, alice):
    remedy = quota_proposal(alice)
    http_double.script(Reply(201, {"id": "qa_new"}), Reply(409, {"error": "already_applied", "id": "qa_new"}))
    gateway = HttpQuotaGateway(http_double.url, "t")
    assert gateway.apply(remedy) == gateway.apply(remedy) == "qa_new"


def test_a_failed_attempt_keeps_its_claim_until_the_task_decides(alice, sam, platform_double, settings):
    settings.REMEDIES_PAUSED = True
    remedy = quota_proposal(alice)
    tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    platform_double.fail_next(400)
    with pytest.raises(GatewayError):
        services.attempt_application(remedy_id=remedy.pk)
    remedy.refresh_from_db()
    assert remedy.claimed_at is not None  # no other worker can apply it while the failure is recorded
    assert services.attempt_application(remedy_id=remedy.pk) is False
    services.record_failure(remedy_id=remedy.pk, error="HTTP 400")
    remedy.refresh_from_db()
    assert (remedy.state, remedy.claimed_at) == (RemedyState.FAILED, None)
    assert len(platform_double.requests) == 1


def test_beat_schedule_names_the_refunds_tasks(settings):
    from config.celery import app

    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    for name in ("refunds.tasks.sweep_remedies", "refunds.tasks.reconcile_yesterday"):
        assert name in names
        assert name in app.tasks


def test_sweep_task_counts_what_it_resumed(approve, alice, sam, settings):
    from refunds.tasks import sweep_remedies

    settings.REMEDIES_PAUSED = True
    remedy = approve(quota_proposal(alice), sam)
    Remedy.objects.filter(pk=remedy.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    settings.REMEDIES_PAUSED = False
    assert sweep_remedies.delay().get() == 1
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.APPLIED


def test_an_unreachable_broker_never_undoes_an_approval(alice, sam, django_capture_on_commit_callbacks):
    """Publishing the task fails after the approval committed: the approval stands, the sweep resumes it."""
    from kombu import pools

    from config.celery import app

    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager", "task_publish_retry")}
    app.conf.update(broker_url="redis://127.0.0.1:9/0", task_always_eager=False, task_publish_retry=False)
    pools.reset()
    app._pool = app.amqp._producer_pool = None
    remedy = quota_proposal(alice)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    finally:
        app.conf.update(saved)
        pools.reset()
        app._pool = app.amqp._producer_pool = None
    remedy.refresh_from_db()
    assert (remedy.state, remedy.attempts) == (RemedyState.APPROVED, 0)
    assert remedy in services.due_remedies(now=timezone.now() + timedelta(minutes=2))
