"""The one place where the remedy's state machine is tied to the ticket's.

A ticket's current remedy (its last one not sent back) is proposed exactly while the ticket awaits
approval, approved exactly while the ticket is approved, failed exactly while it is `remedy_failed`,
and applied when a ticket with a remedy category is resolved; in every other state the ticket has no
current remedy or one applied before it was reopened. Every earlier remedy was applied or withdrawn.
Checked after each transition that moves a remedy (`refunds.hooks`; for a bulk approval, once for the
whole set with `check_many`) and, in the tests, after every transition of the ticket workflow.
"""

from collections import defaultdict

from refunds.models import Remedy, RemedyState
from tickets.models import Category, State

NO_REMEDY = None

CURRENT_REMEDY_STATES = {
    State.AWAITING_APPROVAL: {RemedyState.PROPOSED},
    State.APPROVED: {RemedyState.APPROVED},
    State.RESOLVED: {RemedyState.APPLIED},
    State.REMEDY_FAILED: {RemedyState.FAILED},
}
# Any other ticket state: no remedy yet, all sent back, or one applied before the ticket was reopened.
OTHERWISE = {NO_REMEDY, RemedyState.APPLIED}
EARLIER_REMEDY_STATES = {RemedyState.APPLIED, RemedyState.WITHDRAWN}


class RemedyOutOfStep(Exception):
    """A remedy's state does not fit its ticket's: a defect, never a user's mistake."""


def allowed_current_states(ticket):
    """The states the current remedy of `ticket` may be in (None: no current remedy)."""
    if ticket.category == Category.OTHER:
        return {NO_REMEDY}
    return CURRENT_REMEDY_STATES.get(ticket.state, OTHERWISE)


def check(ticket):
    """Raise RemedyOutOfStep unless the remedies of `ticket` fit its state (read afresh)."""
    _judge(ticket, list(ticket.remedies.order_by("-id").values_list("state", flat=True)))


def check_many(tickets):
    """`check` for many tickets in one query (a bulk transition)."""
    tickets = list(tickets)
    states = defaultdict(list)
    remedies = Remedy.objects.filter(ticket__in=tickets).order_by("ticket_id", "-id")
    for ticket_id, state in remedies.values_list("ticket_id", "state"):
        states[ticket_id].append(state)
    for ticket in tickets:
        _judge(ticket, states[ticket.pk])


def _judge(ticket, states):
    """Raise RemedyOutOfStep unless these remedy states (newest first) fit the ticket's state."""
    current = next((state for state in states if state != RemedyState.WITHDRAWN), NO_REMEDY)
    if current not in allowed_current_states(ticket):
        raise RemedyOutOfStep(f"ticket {ticket.reference} is {ticket.state} but its remedy is {current}")
    earlier = states[states.index(current) + 1 :] if current is not NO_REMEDY else []
    stray = set(earlier) - EARLIER_REMEDY_STATES
    if stray:
        raise RemedyOutOfStep(f"ticket {ticket.reference} has an earlier remedy in {sorted(stray)}")
