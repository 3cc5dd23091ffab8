"""A verification batch stores its outcomes and makes the system's proposals set-based
(`fire_many("propose_remedy")` and the hooks' twins): the same rows as one `fire` per ticket, each
item judged on its own, and a constant number of queries whatever the batch's size."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from incidents import services as incidents
from notifications.models import Message
from refunds.models import Remedy
from tests.incidents.conftest import declare
from tests.verification.conftest import ACCOUNT, order_ticket, serial, stamp_ticket
from tickets import roles
from tickets import services as tickets
from tickets.exceptions import InvalidParameter
from tickets.models import State, TicketTransition
from verification import services
from verification.models import Outcome, RemedyClaim, Verification

pytestmark = pytest.mark.django_db

NOTE = "Verified by the platform's records."
REMEDY_FIELDS = ["kind", "state", "quantity", "amount", "account", "payout_method", "payout_account"]


def rows(ticket):
    """What a proposal leaves behind for one ticket, without ids and times."""
    ticket.refresh_from_db()
    return {
        "state": ticket.state,
        "remedies": list(Remedy.objects.filter(ticket=ticket).values(*REMEDY_FIELDS, "proposed_by", "note")),
        "claims": sorted(RemedyClaim.objects.filter(ticket=ticket).values_list("key", flat=True)),
        "log": list(
            TicketTransition.objects.filter(ticket=ticket).values_list(
                "name", "source", "target", "actor_id", "actor_kind", "note", "public_note"
            )
        ),
        "messages": list(Message.objects.filter(ticket=ticket).values_list("event", "channel")),
    }


def snapshot():
    return {
        "verifications": list(
            Verification.objects.order_by("ticket_id").values(
                "ticket_id", "outcome", "reason", "duplicate_of", "attempts", "proposed_at", "last_error"
            )
        ),
        "remedies": list(Remedy.objects.order_by("pk").values("pk", "ticket_id", "state")),
        "claims": list(RemedyClaim.objects.order_by("pk").values_list("key", "ticket_id")),
        "log": TicketTransition.objects.count(),
        "messages": Message.objects.count(),
    }


def test_the_batch_writes_the_rows_one_fire_per_ticket_writes(platform):
    platform.add_stamping(serial(1), ACCOUNT)
    platform.add_stamping(serial(2), ACCOUNT)
    platform.add_order("ORD-1", ACCOUNT, amount=100_000, quantity=10, quota_credited=0)
    batched_stamp, single_stamp = stamp_ticket(serial(1), serial(2)), stamp_ticket(serial(3), serial(4))
    batched_order, single_order = order_ticket("ORD-1", money=True), order_ticket("ORD-2", money=True)

    results = services.verify_tickets(ticket_ids=[batched_stamp.pk, batched_order.pk])
    tickets.fire("propose_remedy", ticket=single_stamp, actor=roles.SYSTEM, quantity=2, note=NOTE)
    tickets.fire("propose_remedy", ticket=single_order, actor=roles.SYSTEM, amount=100_000, note=NOTE)

    for ticket in (batched_stamp, batched_order):
        verification = results[ticket.pk]
        assert verification.outcome == Outcome.CONFIRMED
        assert (verification.proposed_at, verification.last_error) == (verification.checked_at, "")
    batched, single = rows(batched_stamp), rows(single_stamp)
    assert batched["claims"] == [f"serial:{serial(1)}", f"serial:{serial(2)}"]
    assert single["claims"] == [f"serial:{serial(3)}", f"serial:{serial(4)}"]
    batched.pop("claims"), single.pop("claims")
    assert batched == single
    assert batched["state"] == State.AWAITING_APPROVAL
    assert batched["remedies"][0]["proposed_by"] is None and batched["log"][0][4] == "system"
    assert rows(batched_order) == rows(single_order)
    assert rows(batched_order)["remedies"][0]["kind"] == "refund"


def test_a_serial_claimed_by_another_ticket_makes_only_that_ticket_a_duplicate(platform):
    for n in (1, 2, 3):
        platform.add_stamping(serial(n), ACCOUNT)
    holder = stamp_ticket(serial(1))
    services.verify_ticket(ticket_id=holder.pk)
    holder.__class__.objects.filter(pk=holder.pk).update(created_at=timezone.now() + timedelta(days=1))
    repeat, fresh = stamp_ticket(serial(1), serial(2)), stamp_ticket(serial(3))

    results = services.verify_tickets(ticket_ids=[repeat.pk, fresh.pk])

    assert results[repeat.pk].duplicate_of == holder and results[repeat.pk].proposed_at is None
    assert results[fresh.pk].duplicate_of is None and results[fresh.pk].proposed_at is not None
    repeat.refresh_from_db(), fresh.refresh_from_db()
    assert (repeat.state, repeat.possible_duplicate) == (State.REPORTED, True)
    assert (fresh.state, fresh.possible_duplicate) == (State.AWAITING_APPROVAL, False)
    assert not Remedy.objects.filter(ticket=repeat).exists()
    assert not RemedyClaim.objects.filter(ticket=repeat).exists()
    assert RemedyClaim.objects.get(key=f"serial:{serial(1)}").ticket == holder


def test_in_one_set_a_serial_claimed_by_an_earlier_item_or_another_ticket_refuses_only_that_item(
    platform, alice
):
    """The claim twin refuses after the proposal twin wrote: that item's remedy is rolled back with it."""
    holder = stamp_ticket(serial(9))
    tickets.fire("propose_remedy", ticket=holder, actor=roles.SYSTEM, quantity=1)
    first, second = stamp_ticket(serial(1)), stamp_ticket(serial(1), serial(2))
    third, fourth = stamp_ticket(serial(3), serial(9)), stamp_ticket(serial(4))
    items = [(ticket.pk, {"quantity": 1}) for ticket in (first, second, third, fourth)]

    with translation.override("en"):
        refusals = tickets.fire_many("propose_remedy", items=items, actor=roles.SYSTEM)

    assert refusals[0] is None and refusals[3] is None
    assert isinstance(refusals[1], InvalidParameter) and first.reference in str(refusals[1].message)
    assert isinstance(refusals[2], InvalidParameter) and holder.reference in str(refusals[2].message)
    assert set(Remedy.objects.values_list("ticket_id", flat=True)) == {holder.pk, first.pk, fourth.pk}
    assert dict(RemedyClaim.objects.values_list("key", "ticket_id")) == {
        f"serial:{serial(9)}": holder.pk,
        f"serial:{serial(1)}": first.pk,
        f"serial:{serial(4)}": fourth.pk,
    }
    assert TicketTransition.objects.filter(name="propose_remedy").count() == 3


def test_an_incident_without_automatic_proposals_holds_its_tickets_and_the_rest_of_the_batch_goes_on(
    platform, sam
):
    held = declare(sam, auto_propose=False, title="Gangguan 12 Maret")
    for n in (1, 2, 3):
        platform.add_stamping(serial(n), ACCOUNT)
    inside = stamp_ticket(serial(1), attempted_at=timezone.now() - timedelta(minutes=30))
    incidents.link_new_report(ticket=inside)
    long_ago = timezone.now() - timedelta(days=10)
    before, after = (
        stamp_ticket(serial(2), attempted_at=long_ago),
        stamp_ticket(serial(3), attempted_at=long_ago),
    )
    assert held.links.filter(ticket=inside).exists() and not held.links.filter(ticket=before).exists()

    with translation.override("en"):
        results = services.verify_tickets(ticket_ids=[before.pk, inside.pk, after.pk])

    assert results[inside.pk].outcome == Outcome.CONFIRMED and results[inside.pk].proposed_at is None
    assert "Gangguan 12 Maret" in results[inside.pk].last_error
    assert not Remedy.objects.filter(ticket=inside).exists()
    assert not RemedyClaim.objects.filter(ticket=inside).exists()
    assert set(Remedy.objects.values_list("ticket_id", flat=True)) == {before.pk, after.pk}
    states = {ticket.pk: ticket.state for ticket in inside.__class__.objects.filter(pk__in=results)}
    assert states == {
        inside.pk: State.REPORTED,
        before.pk: State.AWAITING_APPROVAL,
        after.pk: State.AWAITING_APPROVAL,
    }


def test_running_the_same_batch_twice_changes_nothing(platform):
    platform.add_stamping(serial(1), ACCOUNT)
    platform.add_stamping(serial(2), ACCOUNT, status="success")
    platform.add_stamping(serial(4), ACCOUNT)
    batch = [
        stamp_ticket(serial(1)),  # confirmed and proposed
        stamp_ticket(serial(2)),  # contradicted
        stamp_ticket(serial(3)),  # unknown: no record
        stamp_ticket(serial(1)),  # a duplicate of the first
        stamp_ticket(serial(4), state=State.CLOSED),  # confirmed, not proposable
    ]
    ids = [ticket.pk for ticket in batch]
    services.verify_tickets(ticket_ids=ids)
    Verification.objects.filter(outcome=Outcome.UNKNOWN).update(next_attempt_at=None)
    first = snapshot()
    requests = len(platform.requests)

    services.verify_tickets(ticket_ids=[ticket.pk for ticket in batch if ticket.pk != batch[2].pk])
    assert snapshot() == first
    assert len(platform.requests) == requests
    assert [row["outcome"] for row in first["verifications"]] == [
        Outcome.CONFIRMED,
        Outcome.CONTRADICTED,
        Outcome.UNKNOWN,
        Outcome.CONFIRMED,
        Outcome.CONFIRMED,
    ]
    assert [row["ticket_id"] for row in first["remedies"]] == [batch[0].pk]


def test_a_batch_costs_the_same_queries_whatever_its_size(platform):
    def verify(numbers):
        for n in numbers:
            platform.add_stamping(serial(n), ACCOUNT)
        ids = [stamp_ticket(serial(n), serial(n + 500)).pk for n in numbers]
        for n in numbers:
            platform.add_stamping(serial(n + 500), ACCOUNT)
        with CaptureQueriesContext(connection) as queries:
            results = services.verify_tickets(ticket_ids=ids)
        assert all(found.proposed_at is not None for found in results.values())
        return len(queries.captured_queries)

    assert verify(range(1, 4)) == verify(range(10, 30))
