"""Remedies ready to approve, of both kinds, for the refunds tests."""

from refunds.models import RemedyKind, RemedyState
from tests.factories import RemedyFactory, TicketFactory
from tickets.models import Category, State


def quota_proposal(proposer, quantity=3, **fields):
    """A stamp_failed ticket awaiting approval with a quota restoration proposed by `proposer`."""
    ticket = TicketFactory(state=State.AWAITING_APPROVAL, quota_lost=quantity, **fields)
    return RemedyFactory(ticket=ticket, quantity=quantity, proposed_by=proposer, state=RemedyState.PROPOSED)


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
    return RemedyFactory(
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
