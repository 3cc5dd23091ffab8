"""The agent's queue: the default view, the saved views, the "applicant replied" marker and its badge."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.conversation import add_applicant_message
from tests.factories import ticket_in_state
from tickets.models import State, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("staff_in_english", "remedies_paused")]

LIST = "/admin/tickets/ticket/"


def aged(ticket, hours):
    Ticket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(hours=hours))
    return ticket


def listed(client, url=LIST):
    return [row.reference for row in client.get(url).context["cl"].result_list]


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def test_default_list_is_open_tickets_mine_and_unassigned_oldest_first(as_alice, alice, bob):
    newer_mine = aged(ticket_in_state(State.IN_REVIEW, assigned_to=alice), 1)
    older_unassigned = aged(ticket_in_state(State.REPORTED), 5)
    bobs = aged(ticket_in_state(State.IN_REVIEW, assigned_to=bob), 3)
    closed_mine = aged(ticket_in_state(State.CLOSED, assigned_to=alice), 9)
    assert listed(as_alice) == [older_unassigned.reference, newer_mine.reference]
    assert bobs.reference not in listed(as_alice) and closed_mine.reference not in listed(as_alice)


def test_a_filter_or_search_looks_beyond_the_queue(as_alice, bob):
    closed = ticket_in_state(State.CLOSED, assigned_to=bob)
    assert listed(as_alice, LIST + "?state=closed") == [closed.reference]
    assert listed(as_alice, LIST + f"?q={closed.reference}") == [closed.reference]


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("mine", {"mine", "mine_replied"}),
        ("unassigned", {"unassigned"}),
        ("waiting", {"mine", "mine_replied"}),
        ("replied", {"mine_replied"}),
        ("sla", {"late"}),
        ("all", {"mine", "mine_replied", "unassigned", "bobs", "late", "approval"}),
    ],
)
def test_saved_views(as_alice, alice, bob, view, expected):
    made = {
        "mine": ticket_in_state(State.IN_REVIEW, assigned_to=alice),
        "mine_replied": ticket_in_state(
            State.AWAITING_APPROVAL, assigned_to=alice, applicant_replied_at=timezone.now()
        ),
        "unassigned": ticket_in_state(State.REPORTED),
        "bobs": ticket_in_state(State.IN_REVIEW, assigned_to=bob),
        "late": ticket_in_state(State.IN_REVIEW, assigned_to=bob),
        "approval": ticket_in_state(State.AWAITING_APPROVAL, assigned_to=bob),
    }
    Ticket.objects.filter(pk=made["late"].pk).update(state_changed_at=timezone.now() - timedelta(days=30))
    by_reference = {ticket.reference: name for name, ticket in made.items()}
    assert {by_reference[ref] for ref in listed(as_alice, f"{LIST}?view={view}")} == expected


def test_saved_views_are_links_above_the_list_and_next_ticket_is_a_button(as_alice):
    html = as_alice.get(LIST).content.decode()
    for name in ("queue", "mine", "unassigned", "waiting", "replied", "sla"):
        assert f'id="view-{name}"' in html
    assert 'id="view-queue" class="active"' in html
    assert 'id="next-ticket" class="next-ticket"' in html


def test_applicant_reply_marks_the_ticket_in_the_list(as_alice, alice):
    ticket = ticket_in_state(State.IN_REVIEW, assigned_to=alice)
    add_applicant_message(ticket=ticket, body="Ini nomor serinya.")
    ticket.refresh_from_db()
    assert ticket.applicant_replied_at is not None
    assert 'class="replied"' in as_alice.get(LIST).content.decode()


def test_assignee_sees_a_badge_with_the_replies_on_every_console_page(as_alice, alice):
    ticket = ticket_in_state(State.IN_REVIEW, assigned_to=alice)
    add_applicant_message(ticket=ticket, body="Halo")
    html = as_alice.get("/admin/").content.decode()
    assert 'id="replies-badge"' in html and "1 applicant reply" in html


def test_opening_the_ticket_clears_the_marker_for_its_assignee(as_alice, alice):
    ticket = ticket_in_state(State.IN_REVIEW, assigned_to=alice, applicant_replied_at=timezone.now())
    as_alice.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    ticket.refresh_from_db()
    assert ticket.applicant_replied_at is None
    assert 'id="replies-badge"' not in as_alice.get("/admin/").content.decode()


def test_another_agent_opening_the_ticket_leaves_the_marker(client, alice, bob):
    ticket = ticket_in_state(State.IN_REVIEW, assigned_to=alice, applicant_replied_at=timezone.now())
    client.force_login(bob)
    client.get(reverse("admin:tickets_ticket_change", args=[ticket.pk]))
    ticket.refresh_from_db()
    assert ticket.applicant_replied_at is not None
