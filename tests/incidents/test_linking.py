"""Reports are linked to an incident at intake and retroactively when it is declared or changed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Failed, IncidentTicket
from tests.factories import TicketFactory
from tests.incidents.conftest import declare
from tickets import services as tickets
from tickets.models import Category

pytestmark = pytest.mark.django_db


def linked(incident):
    return set(IncidentTicket.objects.filter(incident=incident).values_list("ticket_id", flat=True))


def report(**fields):
    data = dict(
        category=Category.STAMP_FAILED,
        full_name="Siti Aminah",
        nik="3171010101900001",
        email="siti@example.com",
        whatsapp="+6281234567890",
        quota_lost=1,
        language="id",
        attempted_at=timezone.now() - timedelta(minutes=30),
    )
    data.update(fields)
    return tickets.submit_report(data=data, serial_numbers=[])


def test_a_report_filed_during_an_open_incident_is_linked_at_intake(sam):
    incident = declare(sam)
    ticket = report()
    assert linked(incident) == {ticket.pk}


def test_a_report_whose_attempt_is_outside_the_window_is_not_linked_at_intake(sam):
    incident = declare(sam)
    report(attempted_at=timezone.now() - timedelta(hours=5))
    assert linked(incident) == set()


def test_declaring_an_incident_links_earlier_reports_in_its_window(sam):
    inside = TicketFactory(attempted_at=timezone.now() - timedelta(hours=1))
    TicketFactory(attempted_at=timezone.now() - timedelta(hours=3))
    incident = declare(sam)
    assert linked(incident) == {inside.pk}


def test_a_stamping_incident_does_not_link_purchase_reports(sam):
    TicketFactory(category=Category.PAID_NOT_CREDITED, quota_lost=None, order_id="ORD-1")
    incident = declare(sam, failed=Failed.STAMPING)
    assert linked(incident) == set()


def test_a_purchase_incident_links_by_the_time_of_the_report(sam):
    paid = TicketFactory(category=Category.PAID_NOT_CREDITED, quota_lost=None, order_id="ORD-1")
    TicketFactory(attempted_at=timezone.now() - timedelta(hours=1))
    incident = declare(sam, failed=Failed.PURCHASE)
    assert linked(incident) == {paid.pk}


def test_widening_the_window_links_more_reports_and_declaring_twice_adds_nothing(sam):
    earlier = TicketFactory(attempted_at=timezone.now() - timedelta(hours=3))
    incident = declare(sam)
    services.update_window(incident=incident, starts_at=timezone.now() - timedelta(hours=4))
    services.update_window(incident=incident, starts_at=timezone.now() - timedelta(hours=4))
    assert IncidentTicket.objects.filter(incident=incident, ticket=earlier).count() == 1


def test_narrowing_the_window_unlinks_reports_it_no_longer_covers(sam):
    TicketFactory(attempted_at=timezone.now() - timedelta(hours=1))
    incident = declare(sam)
    services.update_window(incident=incident, ends_at=timezone.now() - timedelta(hours=1, minutes=30))
    assert linked(incident) == set()


def test_an_agent_may_view_incidents_in_the_admin_but_not_declare_one(client, alice):
    client.force_login(alice)
    assert client.get("/admin/incidents/incident/").status_code == 200
    assert client.get("/admin/incidents/incident/add/").status_code == 403


def test_a_supervisor_declares_an_incident_in_the_admin_and_reports_link(client, sam):
    inside = TicketFactory(attempted_at=timezone.now() - timedelta(minutes=10))
    client.force_login(sam)
    start = timezone.localtime(timezone.now() - timedelta(hours=1))
    response = client.post(
        "/admin/incidents/incident/add/",
        {
            "title": "Gangguan",
            "starts_at_0": start.strftime("%Y-%m-%d"),
            "starts_at_1": start.strftime("%H:%M:%S"),
            "failed": "stamping",
            "notice_id": "Ada gangguan.",
            "notice_en": "There is an outage.",
            "auto_propose": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert set(IncidentTicket.objects.values_list("ticket_id", flat=True)) == {inside.pk}


def _form(incident, **changes):
    start = timezone.localtime(incident.starts_at)
    data = {
        "title": incident.title,
        "starts_at_0": start.strftime("%Y-%m-%d"),
        "starts_at_1": start.strftime("%H:%M:%S"),
        "ends_at_0": "",
        "ends_at_1": "",
        "failed": incident.failed,
        "notice_id": incident.notice_id,
        "notice_en": incident.notice_en,
        "auto_propose": "on",
    }
    data.update(changes)
    return data


def test_moving_the_start_in_the_admin_links_earlier_reports(client, sam):
    earlier = TicketFactory(attempted_at=timezone.now() - timedelta(hours=3))
    incident = declare(sam)
    client.force_login(sam)
    start = timezone.localtime(timezone.now() - timedelta(hours=4))
    response = client.post(
        f"/admin/incidents/incident/{incident.pk}/change/",
        _form(incident, starts_at_0=start.strftime("%Y-%m-%d"), starts_at_1=start.strftime("%H:%M:%S")),
    )
    assert response.status_code == 302
    assert linked(incident) == {earlier.pk}


def test_changing_the_notice_in_the_admin_makes_a_new_version(client, sam):
    incident = declare(sam)
    client.force_login(sam)
    client.post(f"/admin/incidents/incident/{incident.pk}/change/", _form(incident, notice_en="Updated."))
    incident.refresh_from_db()
    assert (incident.notice_en, incident.notice_version) == ("Updated.", 2)


def test_a_purchase_report_filed_during_a_purchase_incident_is_linked_at_intake(sam):
    incident = declare(sam, failed=Failed.PURCHASE)
    ticket = report(
        category=Category.PAID_NOT_CREDITED,
        attempted_at=None,
        quota_lost=None,
        order_id="ORD-2024-0001",
        amount_paid=100_000,
        remedy_preference="quota",
    )
    assert linked(incident) == {ticket.pk}
