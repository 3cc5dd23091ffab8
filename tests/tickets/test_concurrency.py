"""Concurrent transitions on one ticket are serialised: one wins, the other is refused."""

import threading

import pytest
from django.db import connections

from tests.factories import ticket_in_state
from tickets import services
from tickets.exceptions import TransitionNotAllowed
from tickets.models import State, Ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def run_at_once(*calls):
    """Run each call in its own thread and connection, released together; return results or errors."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait()
            outcomes[index] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_two_agents_claiming_one_ticket_one_wins(alice, bob):
    ticket = ticket_in_state(State.REPORTED)
    outcomes = run_at_once(
        lambda: services.fire("start_review", ticket=ticket, actor=alice),
        lambda: services.fire("start_review", ticket=ticket, actor=bob),
    )
    refused = [outcome for outcome in outcomes if isinstance(outcome, TransitionNotAllowed)]
    assert len(refused) == 1, outcomes
    ticket.refresh_from_db()
    assert ticket.state == State.IN_REVIEW
    assert ticket.transitions.count() == 1


def test_reject_and_mark_duplicate_at_once_one_wins(alice, bob):
    ticket, original = ticket_in_state(State.IN_REVIEW), ticket_in_state(State.IN_REVIEW)
    outcomes = run_at_once(
        lambda: services.fire("reject", ticket=ticket, actor=alice, reason="Tidak valid."),
        lambda: services.fire("mark_duplicate", ticket=ticket, actor=bob, original=original.reference),
    )
    assert sum(isinstance(outcome, TransitionNotAllowed) for outcome in outcomes) == 1, outcomes
    ticket.refresh_from_db()
    assert ticket.state in (State.REJECTED, State.DUPLICATE)
    assert ticket.transitions.count() == 1


def test_concurrent_next_ticket_presses_never_share_a_ticket(alice, bob, sam):
    for _ in range(3):
        ticket_in_state(State.REPORTED)
    outcomes = run_at_once(
        *(lambda actor=actor: services.claim_next(actor=actor) for actor in (alice, bob, sam))
    )
    claimed = [
        outcome.pk for outcome in outcomes if outcome is not None and not isinstance(outcome, Exception)
    ]
    assert len(claimed) == len(set(claimed)) == 3, outcomes


def test_more_next_ticket_presses_than_tickets_leave_the_rest_empty_handed(alice, bob, sam, sue):
    for _ in range(2):
        ticket_in_state(State.REPORTED)
    outcomes = run_at_once(
        *(lambda actor=actor: services.claim_next(actor=actor) for actor in (alice, bob, sam, sue))
    )
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    claimed = [outcome.pk for outcome in outcomes if outcome is not None]
    assert len(claimed) == len(set(claimed)) == 2, outcomes
    assert sorted(set(Ticket.objects.values_list("state", flat=True))) == [State.IN_REVIEW]


def test_next_ticket_button_pressed_at_once_through_the_admin(alice, bob, sam):
    from django.test import Client

    for _ in range(3):
        ticket_in_state(State.REPORTED)

    def press(user):
        client = Client()
        client.force_login(user)
        return client.post("/admin/tickets/ticket/next/")["Location"]

    outcomes = run_at_once(*(lambda user=user: press(user) for user in (alice, bob, sam)))
    assert len(set(outcomes)) == 3, outcomes
    assert Ticket.objects.filter(state=State.IN_REVIEW).values("assigned_to").distinct().count() == 3


def test_workflow_timers_run_twice_at_once_act_once(settings):
    from datetime import timedelta

    from django.utils import timezone

    from tickets import tasks

    settings.REMEDIES_PAUSED = True
    now = timezone.now()
    to_close = [ticket_in_state(State.AWAITING_INFO) for _ in range(4)]
    to_remind = [ticket_in_state(State.AWAITING_INFO) for _ in range(4)]
    Ticket.objects.filter(pk__in=[t.pk for t in to_close]).update(state_changed_at=now - timedelta(days=8))
    Ticket.objects.filter(pk__in=[t.pk for t in to_remind]).update(state_changed_at=now - timedelta(days=4))

    outcomes = run_at_once(tasks.run_workflow_timers, tasks.run_workflow_timers)
    assert not [outcome for outcome in outcomes if isinstance(outcome, Exception)], outcomes
    assert sum(outcome["closed_unanswered"] for outcome in outcomes) == 4
    assert sum(outcome["info_reminders"] for outcome in outcomes) == 4
    for ticket in to_close:
        assert ticket.transitions.filter(name="close_unanswered").count() == 1
    for ticket in to_remind:
        assert ticket.messages.filter(event="info_reminder").count() == 2  # WhatsApp and email, once each
