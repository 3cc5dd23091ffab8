"""Every event's message in both languages: short enough for WhatsApp, with reference and tracking link."""

import pytest

from notifications import services, texts
from notifications.models import MessageStatus
from tests.factories import TicketFactory
from tickets import services as tickets

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("event", texts.EVENTS)
def test_every_event_renders_short_with_reference_and_link(event, language):
    ticket = TicketFactory(language=language, full_name="Siti")
    link = services.tracking_url(ticket)
    rendered = texts.render(event, ticket=ticket, channel="whatsapp", link=link, message="x" * 3000)
    assert ticket.reference in rendered.body and link in rendered.body
    assert len(rendered.body) <= 1600
    assert ticket.reference in rendered.subject


def test_indonesian_is_the_default_and_english_on_request():
    indonesian = texts.render("closed", ticket=TicketFactory(language="id"), channel="email")
    english = texts.render("closed", ticket=TicketFactory(language="en"), channel="email")
    assert "ditutup" in indonesian.body and "Laporan e-Meterai" in indonesian.subject
    assert "is closed" in english.body and "e-Meterai report" in english.subject


def test_long_agent_reply_is_kept_whole_in_email():
    rendered = texts.render("agent_reply", ticket=TicketFactory(), channel="email", message="y" * 3000)
    assert "y" * 3000 in rendered.body


def test_sent_back_tells_the_proposer_by_internal_note_and_the_applicant_nothing(alice, sam):
    from tests.refunds.helpers import quota_proposal

    ticket = quota_proposal(alice, assigned_to=alice).ticket
    before = ticket.messages.exclude(channel="note").count()
    tickets.fire("send_back", ticket=ticket, actor=sam, reason="Nomor seri tidak cocok")
    note = ticket.messages.get(channel="note")
    assert "Nomor seri tidak cocok" in note.body and note.status == MessageStatus.SENT
    assert ticket.messages.exclude(channel="note").count() == before
