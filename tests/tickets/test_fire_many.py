"""`fire_many`: one transition on many tickets, judged per item as `fire` judges it, written set-based."""

import pytest
from django.utils import translation

from tests.factories import ticket_in_state
from tests.refunds.helpers import quota_proposal
from tickets import services, workflow
from tickets.exceptions import TransitionNotAllowed
from tickets.models import State, Ticket, TicketTransition

pytestmark = pytest.mark.django_db


def test_the_model_transition_runs_on_each_ticket_and_the_fields_it_sets_are_written(alice):
    first, second = ticket_in_state(State.REPORTED), ticket_in_state(State.REPORTED)
    refusals = services.fire_many(
        "start_review", items=[(first.pk, {"note": "Saya ambil."}), (second.pk, {})], actor=alice
    )
    assert refusals == [None, None]
    rows = Ticket.objects.filter(pk__in=[first.pk, second.pk]).values_list("state", "assigned_to")
    assert set(rows) == {(State.IN_REVIEW, alice.pk)}
    logs = TicketTransition.objects.filter(name="start_review").order_by("ticket_id")
    assert [(log.source, log.target, log.actor_id, log.actor_kind, log.note) for log in logs] == [
        ("reported", "in_review", alice.pk, "staff", "Saya ambil."),
        ("reported", "in_review", alice.pk, "staff", ""),
    ]


def test_a_ticket_named_twice_is_judged_again_after_its_first_item(sam, alice):
    remedy = quota_proposal(alice)
    with translation.override("en"):
        first, second = services.fire_many("approve", items=[(remedy.ticket_id, {})] * 2, actor=sam)
    assert first is None
    assert isinstance(second, TransitionNotAllowed) and "Approved" in str(second.message)
    assert TicketTransition.objects.filter(name="approve").count() == 1


@pytest.fixture
def hook_without_twin():
    def note_it(change, params):
        pass

    workflow.on("approve")(note_it)
    yield note_it
    workflow._hooks.after["approve"].remove(note_it)


def test_a_hook_without_a_set_based_twin_refuses_the_whole_call(sam, alice, hook_without_twin):
    remedy = quota_proposal(alice)
    with pytest.raises(LookupError, match="note_it"):
        services.fire_many("approve", items=[(remedy.ticket_id, {})], actor=sam)
    remedy.ticket.refresh_from_db()
    assert remedy.ticket.state == State.AWAITING_APPROVAL
