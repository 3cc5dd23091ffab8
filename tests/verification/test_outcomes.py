"""Each outcome of a verification against the platform's API (over real HTTP to the platform double)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from refunds.models import Remedy, RemedyKind, RemedyState
from tests.doubles.base import Reply
from tests.verification.conftest import ACCOUNT, order_ticket, serial, stamp_ticket
from tickets.models import State
from verification import services
from verification.models import Outcome, Reason

pytestmark = pytest.mark.django_db


def verify(ticket, **kwargs):
    return services.verify_ticket(ticket_id=ticket.pk, **kwargs)


def test_failed_stampings_on_the_applicants_account_are_confirmed_and_proposed_by_the_system(platform):
    platform.add_stamping(serial(1), ACCOUNT, status="refund")
    platform.add_stamping(serial(2), ACCOUNT.upper(), status="failed")
    ticket = stamp_ticket(serial(1), serial(2))

    verification = verify(ticket)

    assert (verification.outcome, verification.reason) == (Outcome.CONFIRMED, Reason.STAMPINGS_FAILED)
    assert set(verification.record["stampings"]) == {serial(1), serial(2)}
    ticket.refresh_from_db()
    assert ticket.state == State.AWAITING_APPROVAL
    remedy = Remedy.objects.get(ticket=ticket)
    assert (remedy.kind, remedy.quantity, remedy.proposed_by, remedy.state) == (
        RemedyKind.QUOTA,
        2,
        None,
        RemedyState.PROPOSED,
    )
    assert ticket.transitions.get(name="propose_remedy").actor_kind == "system"


def test_the_platform_is_asked_with_the_bearer_token(platform):
    platform.add_stamping(serial(1), ACCOUNT)
    verify(stamp_ticket(serial(1)))
    request = platform.requests[0]
    assert (request.method, request.path) == ("GET", f"/v1/stampings/{serial(1)}")
    assert request.bearer_token() == platform.token


def test_the_platform_account_email_is_the_one_compared(platform):
    platform.add_stamping(serial(1), "akun.meterai@example.com")
    ticket = stamp_ticket(serial(1), platform_account_email="Akun.Meterai@example.com")
    assert verify(ticket).outcome == Outcome.CONFIRMED


def test_a_system_proposal_is_made_from_in_review_too(platform, alice):
    platform.add_stamping(serial(1), ACCOUNT)
    ticket = stamp_ticket(serial(1), state=State.IN_REVIEW, assigned_to=alice)
    verify(ticket)
    ticket.refresh_from_db()
    assert ticket.state == State.AWAITING_APPROVAL


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (dict(status="success"), Reason.STAMPING_SUCCEEDED),
        (dict(quota_restored=True), Reason.ALREADY_RESTORED),
        (dict(account="someone.else@example.com"), Reason.OTHER_ACCOUNT),
    ],
    ids=["succeeded", "restored", "other-account"],
)
def test_a_stamping_the_platform_contradicts_is_left_to_an_agent(platform, record, reason):
    platform.add_stamping(serial(1), ACCOUNT)
    platform.add_stamping(serial(2), **{"account": ACCOUNT, **record})
    ticket = stamp_ticket(serial(1), serial(2))

    verification = verify(ticket)

    assert (verification.outcome, verification.reason) == (Outcome.CONTRADICTED, reason)
    ticket.refresh_from_db()
    assert ticket.state == State.REPORTED  # never rejected automatically
    assert not Remedy.objects.filter(ticket=ticket).exists()


@pytest.mark.parametrize(
    ("status", "credited", "reason"),
    [
        ("pending", 0, Reason.ORDER_NOT_PAID),
        ("expired", 0, Reason.ORDER_EXPIRED),
        ("refunded", 0, Reason.ORDER_REFUNDED),
        ("paid", 10, Reason.ALREADY_CREDITED),
    ],
)
def test_an_order_the_platform_contradicts_is_left_to_an_agent(platform, status, credited, reason):
    platform.add_order("ORD-1", ACCOUNT, status=status, quantity=10, quota_credited=credited)
    ticket = order_ticket("ORD-1")
    verification = verify(ticket)
    assert (verification.outcome, verification.reason) == (Outcome.CONTRADICTED, reason)
    assert not Remedy.objects.filter(ticket=ticket).exists()


def test_an_order_on_another_account_is_contradicted(platform):
    platform.add_order("ORD-1", "someone.else@example.com")
    verification = verify(order_ticket("ORD-1"))
    assert (verification.outcome, verification.reason) == (Outcome.CONTRADICTED, Reason.OTHER_ACCOUNT)


def test_a_paid_order_partly_credited_is_proposed_as_the_missing_quota(platform):
    platform.add_order("ORD-1", ACCOUNT, amount=100_000, quantity=10, quota_credited=4)
    ticket = order_ticket("ORD-1")
    assert verify(ticket).outcome == Outcome.CONFIRMED
    remedy = Remedy.objects.get(ticket=ticket)
    assert (remedy.kind, remedy.quantity) == (RemedyKind.QUOTA, 6)


def test_a_paid_order_never_credited_is_proposed_as_the_money_paid_when_the_applicant_chose_money(platform):
    platform.add_order("ORD-1", ACCOUNT, amount=100_000, quantity=10, quota_credited=0)
    ticket = order_ticket("ORD-1", money=True)
    assert verify(ticket).outcome == Outcome.CONFIRMED
    remedy = Remedy.objects.get(ticket=ticket)
    assert (remedy.kind, remedy.amount, remedy.payout_account) == (
        RemedyKind.REFUND,
        100_000,
        "BCA 1234567890",
    )


def test_a_money_refund_is_never_more_than_the_applicant_claims(platform):
    platform.add_order("ORD-1", ACCOUNT, amount=100_000, quantity=10, quota_credited=0)
    ticket = order_ticket("ORD-1", money=True, amount_paid=80_000)
    verify(ticket)
    assert Remedy.objects.get(ticket=ticket).amount == 80_000


def test_no_record_on_the_platform_is_unknown(platform):
    platform.add_stamping(serial(1), ACCOUNT)
    ticket = stamp_ticket(serial(1), serial(2))
    verification = verify(ticket)
    assert (verification.outcome, verification.reason) == (Outcome.UNKNOWN, Reason.NO_RECORD)
    assert verification.next_attempt_at is None  # new records (an import) verify it again
    assert not Remedy.objects.filter(ticket=ticket).exists()


def test_an_unknown_order_is_unknown(platform):
    verification = verify(order_ticket("ORD-404"))
    assert (verification.outcome, verification.reason) == (Outcome.UNKNOWN, Reason.NO_RECORD)


def test_a_platform_down_leaves_the_outcome_unknown_and_retries_after_its_retry_after(platform):
    platform.add_stamping(serial(1), ACCOUNT)
    platform.script(Reply(503, {"error": "unavailable"}, {"Retry-After": "600"}))
    ticket = stamp_ticket(serial(1))
    before = timezone.now()

    verification = verify(ticket)

    assert (verification.outcome, verification.reason) == (Outcome.UNKNOWN, Reason.PLATFORM_UNAVAILABLE)
    assert verification.attempts == 1
    assert verification.next_attempt_at >= before + timedelta(seconds=600)
    assert "503" in verification.last_error


def test_a_platform_down_then_back_confirms_on_the_attempt_that_falls_due(platform):
    platform.add_stamping(serial(1), ACCOUNT)
    platform.fail_next(500)
    ticket = stamp_ticket(serial(1))
    first = verify(ticket)
    assert first.outcome == Outcome.UNKNOWN
    assert services.due(now=first.next_attempt_at - timedelta(seconds=1)) == []

    assert services.due(now=first.next_attempt_at) == [ticket.pk]
    second = verify(ticket)

    assert (second.outcome, second.attempts) == (Outcome.CONFIRMED, 2)
    ticket.refresh_from_db()
    assert ticket.state == State.AWAITING_APPROVAL


def test_a_platform_that_times_out_is_unknown(platform, settings):
    settings.GATEWAY_TIMEOUT_SECONDS = 0.3
    platform.add_stamping(serial(1), ACCOUNT)
    platform.timeout_next(2)
    verification = verify(stamp_ticket(serial(1)))
    assert (verification.outcome, verification.reason) == (Outcome.UNKNOWN, Reason.PLATFORM_UNAVAILABLE)


def test_the_backoff_doubles(settings):
    settings.VERIFICATION_RETRY_SECONDS = 60
    assert [services.retry_delay(n).total_seconds() for n in (1, 2, 3)] == [60, 120, 240]
    assert services.retry_delay(12).total_seconds() == 3600


def test_attempts_stop_after_the_maximum(platform, settings):
    settings.VERIFICATION_MAX_ATTEMPTS = 2
    ticket = stamp_ticket(serial(1))
    platform.fail_next(500, 500)
    verify(ticket)
    verification = verify(ticket)
    assert (verification.outcome, verification.attempts, verification.next_attempt_at) == (
        Outcome.UNKNOWN,
        2,
        None,
    )


def test_a_platform_down_falls_back_to_the_loaded_exports(platform):
    from verification.models import PlatformStamping

    PlatformStamping.objects.create(serial_number=serial(1), account=ACCOUNT, status="refund")
    platform.fail_next(503)
    assert verify(stamp_ticket(serial(1))).outcome == Outcome.CONFIRMED


def test_a_record_the_api_lacks_is_taken_from_the_loaded_exports(platform):
    from verification.models import PlatformStamping

    PlatformStamping.objects.create(serial_number=serial(1), account=ACCOUNT, status="refund")
    assert verify(stamp_ticket(serial(1))).outcome == Outcome.CONFIRMED
    assert platform.requests[0].path == f"/v1/stampings/{serial(1)}"


def test_an_erased_ticket_is_verified_no_more(platform):
    from django.utils import timezone

    from verification.models import Verification

    ticket = stamp_ticket(serial(1))
    Verification.objects.create(ticket=ticket, next_attempt_at=timezone.now())
    ticket.__class__.objects.filter(pk=ticket.pk).update(erased_at=timezone.now())
    assert verify(ticket) is None
    assert services.due() == []
    assert platform.requests == []


def test_the_embedded_ledger_gateway_answers_from_the_loaded_exports_only(settings):
    from verification.models import PlatformStamping

    settings.QUOTA_GATEWAY = "ledger"
    settings.REMEDIES_PAUSED = True
    PlatformStamping.objects.create(serial_number=serial(1), account=ACCOUNT, status="failed")
    assert verify(stamp_ticket(serial(1))).outcome == Outcome.CONFIRMED
    assert verify(stamp_ticket(serial(2))).reason == Reason.NO_RECORD
