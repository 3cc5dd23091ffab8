"""The system's proposal: four eyes at approval, once per ticket however often verification runs."""

import pytest

from refunds.models import Remedy, RemedyState
from tests.verification.conftest import ACCOUNT, serial, stamp_ticket
from tests.verification.test_outcomes import verify
from tickets import services as tickets
from tickets.exceptions import TransitionForbidden, TransitionNotAllowed
from tickets.models import State
from verification.models import Outcome, Verification

pytestmark = pytest.mark.django_db


@pytest.fixture
def proposed(platform):
    platform.add_stamping(serial(1), ACCOUNT)
    ticket = stamp_ticket(serial(1))
    verify(ticket)
    ticket.refresh_from_db()
    assert ticket.state == State.AWAITING_APPROVAL
    return ticket


def test_a_supervisor_approves_a_system_proposal(proposed, sam):
    tickets.fire("approve", ticket=proposed, actor=sam)
    remedy = Remedy.objects.get(ticket=proposed)
    assert (remedy.state, remedy.approved_by, remedy.proposed_by) == (RemedyState.APPROVED, sam, None)


def test_an_agent_cannot_approve_a_system_proposal(proposed, alice):
    with pytest.raises(TransitionForbidden):
        tickets.fire("approve", ticket=proposed, actor=alice)


def test_a_supervisor_still_cannot_approve_their_own_proposal(platform, alice, sam):
    ticket = stamp_ticket(serial(7), state=State.IN_REVIEW, assigned_to=sam)
    tickets.fire("propose_remedy", ticket=ticket, actor=sam, quantity=1)
    with pytest.raises(TransitionForbidden):
        tickets.fire("approve", ticket=ticket, actor=sam)


def test_the_remedy_is_proposed_once_when_verification_runs_twice(proposed):
    Verification.objects.filter(ticket=proposed).update(outcome=Outcome.PENDING)  # as if new records came
    verify(proposed)
    verify(proposed)
    assert Remedy.objects.filter(ticket=proposed).count() == 1
    assert proposed.transitions.filter(name="propose_remedy").count() == 1


def test_a_system_proposal_sent_back_is_not_made_again(proposed, sam):
    tickets.fire("send_back", ticket=proposed, actor=sam, reason="Periksa dulu.")
    Verification.objects.filter(ticket=proposed).update(outcome=Outcome.UNKNOWN)
    verify(proposed)
    proposed.refresh_from_db()
    assert proposed.state == State.IN_REVIEW
    assert Remedy.objects.filter(ticket=proposed, state=RemedyState.PROPOSED).count() == 0


def test_an_agent_cannot_propose_from_reported(platform, alice):
    ticket = stamp_ticket(serial(8))
    with pytest.raises(TransitionNotAllowed):
        tickets.fire("propose_remedy", ticket=ticket, actor=alice, quantity=1)
