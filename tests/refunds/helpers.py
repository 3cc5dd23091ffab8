"""Remedies ready to approve, of both kinds, and beat's part in their retries, for the refunds tests."""

from datetime import timedelta

from refunds import consistency, services
from refunds.models import RemedyKind, RemedyState
from refunds.retries import SWEEP_GRACE
from tests.factories import RemedyFactory, TicketFactory
from tickets.models import Category, State


def quota_proposal(proposer, quantity=3, **fields):
    """A stamp_failed ticket awaiting approval with a quota restoration proposed by `proposer`."""
    ticket = TicketFactory(state=State.AWAITING_APPROVAL, quota_lost=quantity, **fields)
    remedy = RemedyFactory(ticket=ticket, quantity=quantity, proposed_by=proposer, state=RemedyState.PROPOSED)
    consistency.check(ticket)
    return remedy


def refund_proposal(proposer, amount=50_000, **fields):
    """A paid_not_credited ticket awaiting approval with a money refund proposed by `proposer`."""
    ticket = TicketFactory(
        state=State.AWAITING_APPROVAL,
        category=Category.PAID_NOT_CREDITED,
        quota_lost=None,
        order_id="ORD-1",
        amount_paid=amount,
        remedy_preference="money",
        payout_method="bank",
        payout_account="BCA 1234567890",
        payout_name="Siti Aminah",
        **fields,
    )
    remedy = RemedyFactory(
        ticket=ticket,
        kind=RemedyKind.REFUND,
        quantity=None,
        amount=amount,
        account="",
        payout_method="bank",
        payout_account="BCA 1234567890",
        payout_name="Siti Aminah",
        proposed_by=proposer,
        state=RemedyState.PROPOSED,
    )
    consistency.check(ticket)
    return remedy


def sweep_when_due(remedy, time_machine, *, limit=30):
    """Beat's part in a remedy's retries: move the clock (time-machine's fixture) to each time the
    remedy's next attempt falls due, past the grace the sweep leaves to a task on its way, and run the
    sweep there, until no attempt is due any more. Returns the remedy as it ended."""
    for _ in range(limit):
        remedy.refresh_from_db()
        if remedy.state != RemedyState.APPROVED or remedy.next_attempt_at is None:
            return remedy
        time_machine.move_to(remedy.next_attempt_at + SWEEP_GRACE + timedelta(seconds=1))
        services.sweep_remedies()
    raise AssertionError(f"remedy {remedy.pk} still retrying after {limit} sweeps")
