"""A message that opens a ticket speaks the language the applicant chose before."""

import pytest

from notifications.conversation import open_ticket
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_a_known_number_keeps_the_language_of_its_earlier_ticket():
    TicketFactory(whatsapp="+6281234567890", language="en", state="closed")
    ticket = open_ticket(channel="whatsapp", data={"whatsapp": "+6281234567890", "description": "Hello?"})
    assert ticket.language == "en"


def test_an_unknown_address_gets_indonesian():
    TicketFactory(email="someone@example.com", language="en")
    ticket = open_ticket(channel="email", data={"email": "new@example.com", "description": "Halo"})
    assert ticket.language == "id"
