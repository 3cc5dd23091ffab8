"""On PostgreSQL: workers and agents at the same moment never remedy one serial number twice."""

import pytest

from refunds.models import Remedy
from tests.tickets.test_concurrency import run_at_once
from tests.verification.conftest import ACCOUNT, serial, stamp_ticket
from tickets import services as tickets
from tickets.models import State
from verification import services

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_workers_verifying_one_ticket_at_once_propose_once(platform):
    platform.add_stamping(serial(1), ACCOUNT)
    ticket = stamp_ticket(serial(1))
    outcomes = run_at_once(*(lambda: services.verify_ticket(ticket_id=ticket.pk) for _ in range(4)))
    assert not any(isinstance(outcome, Exception) for outcome in outcomes), outcomes
    assert Remedy.objects.filter(ticket=ticket).count() == 1
    assert ticket.transitions.filter(name="propose_remedy").count() == 1


def test_agents_proposing_the_same_serial_on_two_tickets_at_once_remedy_it_once(platform, alice, bob):
    first = stamp_ticket(serial(1), state=State.IN_REVIEW, assigned_to=alice)
    second = stamp_ticket(serial(1), state=State.IN_REVIEW, assigned_to=bob)
    outcomes = run_at_once(
        lambda: tickets.fire("propose_remedy", ticket=first, actor=alice, quantity=1),
        lambda: tickets.fire("propose_remedy", ticket=second, actor=bob, quantity=1),
    )
    assert sum(not isinstance(outcome, Exception) for outcome in outcomes) == 1, outcomes
    assert Remedy.objects.count() == 1
