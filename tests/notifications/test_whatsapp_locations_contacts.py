"""WhatsApp locations and contact cards sent by applicants are stored as readable text."""

import pytest

from notifications.models import Direction, Message
from notifications.whatsapp_content import contacts_in_vcard
from tests.doubles.twilio import APPLICANT_WHATSAPP
from tests.factories import ticket_in_state
from tests.notifications.conftest import post_twilio
from tickets.models import State

pytestmark = pytest.mark.django_db

INBOUND = "/webhooks/twilio/whatsapp/"
NUMBER = APPLICANT_WHATSAPP.removeprefix("whatsapp:")
VCARD = (
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Santoso;Budi;;;\r\nFN:Budi Santoso\r\n"
    b"TEL;type=CELL;waid=6281234567890:+62 812-3456-7890\r\nEND:VCARD\r\n"
)


def location_form(double, **fields):
    form = double.inbound_form("")
    form.update({"MessageType": "location", **fields})
    return form


def test_a_shared_location_is_stored_with_its_place_and_a_map_link(client, twilio_double):
    ticket_in_state(State.IN_REVIEW, whatsapp=NUMBER)
    form = location_form(
        twilio_double,
        Latitude="-6.1753924",
        Longitude="106.8271528",
        Address="Jl. Medan Merdeka, Jakarta",
        Label="Kantor Pos",
    )
    assert post_twilio(client, twilio_double, INBOUND, form).status_code == 200
    body = Message.objects.get(direction=Direction.INBOUND).body
    assert "Kantor Pos, Jl. Medan Merdeka, Jakarta" in body
    assert "https://www.google.com/maps?q=-6.1753924,106.8271528" in body


def test_a_location_without_its_longitude_is_refused_and_nothing_stored(client, twilio_double):
    form = location_form(twilio_double, Latitude="-6.17")
    assert post_twilio(client, twilio_double, INBOUND, form).status_code == 400
    assert not Message.objects.exists()


def test_a_location_out_of_range_is_refused(client, twilio_double):
    form = location_form(twilio_double, Latitude="123", Longitude="10")
    assert post_twilio(client, twilio_double, INBOUND, form).status_code == 400


def test_a_shared_contact_card_becomes_its_name_and_number(
    client, twilio_double, django_capture_on_commit_callbacks
):
    ticket_in_state(State.IN_REVIEW, whatsapp=NUMBER)
    url = twilio_double.add_media(VCARD, "text/vcard")
    with django_capture_on_commit_callbacks(execute=True):
        post_twilio(
            client, twilio_double, INBOUND, twilio_double.inbound_form("", media=[(url, "text/vcard")])
        )
    message = Message.objects.get(direction=Direction.INBOUND)
    assert message.body == "👤 Budi Santoso: +62 812-3456-7890"
    assert message.media[0]["state"] == "kept" and not message.media_pending


def test_vcard_with_several_cards_and_folded_lines():
    content = (
        b"BEGIN:VCARD\nVERSION:3.0\nN:Aini;Nur;;;\nTEL:+6281111\n TEL-continued\nEND:VCARD\n"
        b"BEGIN:VCARD\nFN:Joko\nTEL:+6282222\nTEL:+6283333\nEND:VCARD\n"
    )
    assert contacts_in_vcard(content) == [
        ("Nur Aini", ["+6281111TEL-continued"]),
        ("Joko", ["+6282222", "+6283333"]),
    ]
