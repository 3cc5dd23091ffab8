"""`seed_demo` gives a newcomer accounts and tickets in every state, and is safe to run twice."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from refunds.models import Remedy, RemedyState
from tickets.models import State, Ticket

pytestmark = pytest.mark.django_db(transaction=True)  # approvals apply after commit


def seed():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_covers_every_state_and_prints_the_passwords():
    output = seed()
    assert set(Ticket.objects.values_list("state", flat=True)) == set(State.values)
    assert "agent-demo" in output and "supervisor-demo" in output
    agent = get_user_model().objects.get(username="agent")
    assert agent.check_password("agent-demo") and agent.groups.filter(name="Agents").exists()


def test_seed_demo_twice_creates_nothing_more():
    seed()
    counts = Ticket.objects.count(), get_user_model().objects.count()
    output = seed()
    assert (Ticket.objects.count(), get_user_model().objects.count()) == counts
    assert "agent-demo" in output


def test_seeded_remedies_went_through_the_ledger():
    seed()
    applied = Remedy.objects.filter(state=RemedyState.APPLIED)
    assert applied.count() == 2
    for remedy in applied:
        assert remedy.ledger_entry.quantity == remedy.quantity
        assert remedy.ticket.state in (State.RESOLVED, State.CLOSED)


def test_seed_demo_shows_every_verification_outcome_and_a_system_proposal():
    from verification.models import Outcome, Verification

    seed()
    outcomes = set(Verification.objects.values_list("outcome", flat=True))
    assert {Outcome.CONFIRMED, Outcome.CONTRADICTED, Outcome.UNKNOWN} <= outcomes
    system = Remedy.objects.filter(proposed_by=None, state=RemedyState.PROPOSED)
    assert system.count() == 2  # a failed stamping and an order paid and never credited
    assert Verification.objects.exclude(duplicate_of=None).count() == 1
