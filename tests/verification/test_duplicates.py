"""A serial number is remedied at most once across all tickets: the second claim is flagged, not proposed."""

import pytest
from django.db.models import Q

from refunds.models import Remedy
from tests.verification.conftest import ACCOUNT, order_ticket, serial, stamp_ticket
from tickets import services as tickets
from tickets.exceptions import InvalidParameter
from tickets.models import Channel, State
from verification import services
from verification.models import Outcome

pytestmark = pytest.mark.django_db


def verify(ticket):
    return services.verify_ticket(ticket_id=ticket.pk)


def test_the_same_serial_on_a_second_ticket_is_flagged_as_its_duplicate_and_not_proposed(platform):
    platform.add_stamping(serial(1), ACCOUNT)
    first = stamp_ticket(serial(1), channel=Channel.WEB)
    second = stamp_ticket(serial(1), channel=Channel.WHATSAPP)
    verify(first)

    verification = verify(second)

    assert verification.outcome == Outcome.CONFIRMED
    assert verification.duplicate_of == first
    second.refresh_from_db()
    assert (second.state, second.possible_duplicate) == (State.REPORTED, True)
    assert Remedy.objects.filter(Q(ticket=first) | Q(ticket=second)).count() == 1


def test_the_second_ticket_verified_first_still_defers_to_the_earlier_one(platform):
    platform.add_stamping(serial(1), ACCOUNT)
    first = stamp_ticket(serial(1))
    second = stamp_ticket(serial(1))

    assert verify(second).duplicate_of == first
    assert verify(first).duplicate_of is None

    assert list(Remedy.objects.values_list("ticket", flat=True)) == [first.pk]


def test_a_serial_remedied_on_a_closed_ticket_is_not_proposed_again(platform):
    platform.add_stamping(serial(1), ACCOUNT)
    first = stamp_ticket(serial(1))
    verify(first)
    first.__class__.objects.filter(pk=first.pk).update(state=State.CLOSED)  # applied and confirmed long ago
    later = stamp_ticket(serial(1))

    assert verify(later).duplicate_of == first
    assert not Remedy.objects.filter(ticket=later).exists()


def test_an_agent_cannot_propose_a_remedy_for_a_serial_another_ticket_holds(platform, alice):
    platform.add_stamping(serial(1), ACCOUNT)
    first = stamp_ticket(serial(1))
    verify(first)
    second = stamp_ticket(serial(1), serial(2), state=State.IN_REVIEW, assigned_to=alice)

    with pytest.raises(InvalidParameter, match=first.reference):
        tickets.fire("propose_remedy", ticket=second, actor=alice, quantity=2)

    assert not Remedy.objects.filter(ticket=second).exists()


def test_a_proposal_sent_back_frees_its_serial_numbers(platform, alice, sam):
    platform.add_stamping(serial(1), ACCOUNT)
    first = stamp_ticket(serial(1))
    verify(first)
    tickets.fire("send_back", ticket=first, actor=sam, reason="Bukan akun pelapor.")
    second = stamp_ticket(serial(1), state=State.IN_REVIEW, assigned_to=alice)

    tickets.fire("propose_remedy", ticket=second, actor=alice, quantity=1)

    second.refresh_from_db()
    assert second.state == State.AWAITING_APPROVAL


def test_the_same_order_on_a_second_ticket_is_flagged(platform):
    platform.add_order("ORD-1", ACCOUNT)
    first = order_ticket("ORD-1")
    second = order_ticket("ORD-1")
    verify(first)
    assert verify(second).duplicate_of == first
    assert not Remedy.objects.filter(ticket=second).exists()
