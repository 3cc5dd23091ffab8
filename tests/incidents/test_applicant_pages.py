"""While an incident is open the applicant's pages show its notice; a linked report's pages say so."""

from datetime import timedelta

import pytest
from django.utils import timezone

from desk.applicant.tracking import status_path
from incidents import services
from tests.factories import TicketFactory
from tests.incidents.conftest import declare

pytestmark = pytest.mark.django_db

NOTICE_ID = "Kami tahu tentang gangguan ini. Kuota Anda akan dikembalikan."
NOTICE_EN = "We know about this outage. Your quota will be restored."


def test_the_form_page_shows_the_open_incidents_notice_in_indonesian(client, sam):
    declare(sam)
    assert NOTICE_ID in client.get("/report/", HTTP_ACCEPT_LANGUAGE="id").content.decode()


def test_the_form_page_shows_the_notice_in_english_to_an_english_reader(client, sam):
    declare(sam)
    assert NOTICE_EN in client.get("/report/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_an_ended_incident_shows_no_notice(client, sam):
    incident = declare(sam)
    services.update_window(incident=incident, end_now=True)
    assert NOTICE_ID not in client.get("/report/", HTTP_ACCEPT_LANGUAGE="id").content.decode()


def test_the_status_page_of_a_linked_report_says_it_is_linked(client, sam):
    ticket = TicketFactory(attempted_at=timezone.now() - timedelta(minutes=30))
    declare(sam, title="Gangguan CASN")
    page = client.get(status_path(ticket), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="incident"' in page and "Gangguan CASN" in page


def test_the_confirmation_of_a_linked_report_says_there_is_no_need_to_report_again(client, sam):
    ticket = TicketFactory(attempted_at=timezone.now() - timedelta(minutes=30))
    declare(sam)
    path = status_path(ticket).replace(f"/status/{ticket.reference}/", f"/report/{ticket.reference}/sent/")
    page = client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "There is no need to report again." in page


def test_the_status_page_of_an_unlinked_report_says_nothing_of_incidents(client, sam):
    ticket = TicketFactory(attempted_at=timezone.now() - timedelta(hours=5))
    declare(sam)
    assert 'id="incident"' not in client.get(status_path(ticket)).content.decode()
