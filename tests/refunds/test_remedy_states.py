"""The remedy's own state machine, and the one rule that keeps it in step with the ticket's."""

import pytest
from django_fsm import TransitionNotAllowed as RemedyTransitionNotAllowed

from refunds import consistency
from refunds.consistency import RemedyOutOfStep
from refunds.models import Remedy, RemedyState
from tests.factories import RemedyFactory, ticket_in_state
from tickets import services as tickets
from tickets.models import State, Ticket

pytestmark = pytest.mark.django_db

EDGES = {
    ("approve", RemedyState.PROPOSED): RemedyState.APPROVED,
    ("withdraw", RemedyState.PROPOSED): RemedyState.WITHDRAWN,
    ("mark_applied", RemedyState.APPROVED): RemedyState.APPLIED,
    ("mark_failed", RemedyState.APPROVED): RemedyState.FAILED,
    ("retry", RemedyState.FAILED): RemedyState.APPROVED,
}
ARGUMENTS = {
    "approve": {"by": None, "at": None},
    "withdraw": {"reason": "x"},
    "mark_applied": {"provider_reference": "P-1", "at": None},
    "mark_failed": {"error": "HTTP 400", "at": None},
    "retry": {"at": None},
}


@pytest.mark.parametrize("source", RemedyState.values)
@pytest.mark.parametrize("name", ARGUMENTS)
def test_each_remedy_transition_goes_only_where_the_machine_says(name, source):
    remedy = Remedy(state=source)
    target = EDGES.get((name, source))
    if target is None:
        with pytest.raises(RemedyTransitionNotAllowed):
            getattr(remedy, name)(**ARGUMENTS[name])
        assert remedy.state == source
    else:
        getattr(remedy, name)(**ARGUMENTS[name])
        assert remedy.state == target


def test_remedy_state_cannot_be_assigned():
    remedy = RemedyFactory()
    with pytest.raises(AttributeError):
        remedy.state = RemedyState.APPLIED
    remedy.refresh_from_db()  # reloading is allowed all the same
    assert remedy.state == RemedyState.PROPOSED


@pytest.mark.parametrize("state", State.values)
def test_the_factory_builds_every_ticket_state_in_step(state):
    consistency.check(ticket_in_state(state))


def test_a_ticket_resolved_without_its_remedy_applied_is_refused_and_rolled_back(settings, sam, alice):
    settings.REMEDIES_PAUSED = True
    ticket = ticket_in_state(State.AWAITING_APPROVAL, proposer=alice)
    tickets.fire("approve", ticket=ticket, actor=sam)
    with pytest.raises(RemedyOutOfStep):
        tickets.fire("remedy_applied", ticket=ticket)  # the ticket alone, not through record_application
    assert Ticket.objects.get(pk=ticket.pk).state == State.APPROVED
    assert not ticket.transitions.filter(name="remedy_applied").exists()


@pytest.mark.parametrize(
    ("ticket_state", "remedy_state"),
    [
        (State.AWAITING_APPROVAL, RemedyState.APPROVED),
        (State.APPROVED, RemedyState.PROPOSED),
        (State.RESOLVED, RemedyState.FAILED),
        (State.REMEDY_FAILED, RemedyState.APPLIED),
        (State.IN_REVIEW, RemedyState.PROPOSED),
        (State.CLOSED, RemedyState.APPROVED),
    ],
)
def test_the_rule_refuses_a_remedy_out_of_step(ticket_state, remedy_state, alice):
    ticket = ticket_in_state(State.REPORTED)
    Ticket.objects.filter(pk=ticket.pk).update(state=ticket_state)
    RemedyFactory(ticket=ticket, state=remedy_state, proposed_by=alice)
    with pytest.raises(RemedyOutOfStep):
        consistency.check(Ticket.objects.get(pk=ticket.pk))


def test_an_earlier_remedy_must_be_applied_or_withdrawn(alice):
    ticket = ticket_in_state(State.AWAITING_APPROVAL, proposer=alice)
    Remedy.objects.filter(ticket=ticket).update(state=RemedyState.APPROVED)
    RemedyFactory(ticket=ticket, state=RemedyState.PROPOSED, proposed_by=alice)
    with pytest.raises(RemedyOutOfStep):
        consistency.check(ticket)
