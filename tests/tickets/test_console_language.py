"""The console in Indonesian: models, columns, filters, titles and the log in words, never identifiers."""

import re

import pytest
from django.urls import reverse

from notifications import texts
from notifications.models import MessageEvent
from tests.factories import ticket_in_state
from tickets import services, workflow
from tickets.models import State

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("remedies_paused")]

LIST = "/admin/tickets/ticket/"


@pytest.fixture
def as_alice_in_indonesian(client, alice):
    client.force_login(alice)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "id"
    return client


def visible_text(html):
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_ticket_page_log_shows_transition_labels_and_events_in_words(as_alice_in_indonesian, alice):
    ticket = ticket_in_state(State.REPORTED)
    services.fire("start_review", ticket=ticket, actor=alice)
    services.fire("request_info", ticket=ticket, actor=alice, message="Nomor seri?")
    text = visible_text(
        as_alice_in_indonesian.get(reverse("admin:tickets_ticket_change", args=[ticket.pk])).content.decode()
    )
    assert "Ambil dan mulai verifikasi" in text
    assert "Data diminta" in text
    for name in workflow.transitions():
        assert name not in text
    assert "info_requested" not in text


def test_ticket_list_speaks_indonesian(as_alice_in_indonesian):
    ticket_in_state(State.REPORTED)
    text = visible_text(as_alice_in_indonesian.get(LIST + "?view=all").content.decode())
    for english in ("Select ticket", "Assigned to", "reference", "By state", "By channel", "Go"):
        assert english not in text
    assert "Nomor referensi" in text or "nomor referensi" in text.lower()
    assert "Jalankan" in text


def test_every_notification_event_has_words_for_staff():
    assert set(texts.EVENTS) <= set(MessageEvent.values)
