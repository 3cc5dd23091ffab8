"""Ticket references are unique, human-friendly and unguessable; tracking tokens are long and random."""

import re

import pytest

from tests.factories import TicketFactory
from tickets.models import REFERENCE_ALPHABET, new_reference, new_tracking_token


def test_reference_is_human_friendly():
    reference = new_reference()
    assert re.fullmatch(rf"EMT-[{REFERENCE_ALPHABET}]{{7}}", reference)
    assert not set(reference[4:]) & set("01ILOU")


def test_references_do_not_follow_each_other():
    references = [new_reference() for _ in range(20000)]
    # 30^7 references: 20,000 draws collide about once in a hundred runs, three times practically never
    # (a collision on save draws again: test_a_taken_reference_is_redrawn_on_save).
    assert len(set(references)) >= len(references) - 2
    # Every position takes many values: nothing sequential or predictable.
    for position in range(4, 11):
        assert len({reference[position] for reference in references}) == len(REFERENCE_ALPHABET)


def test_tracking_token_is_long_and_random():
    tokens = {new_tracking_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(token) >= 32 for token in tokens)


@pytest.mark.django_db
def test_each_ticket_gets_its_own_reference_and_token():
    tickets = TicketFactory.create_batch(50)
    assert len({ticket.reference for ticket in tickets}) == 50
    assert len({ticket.tracking_token for ticket in tickets}) == 50


@pytest.mark.django_db
def test_a_taken_reference_is_redrawn_on_save():
    first = TicketFactory()
    second = TicketFactory.build(reference=first.reference)
    second.save()
    assert second.reference != first.reference
