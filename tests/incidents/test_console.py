"""The supervisors' dashboard shows open incidents; seed_demo declares one over some demo reports."""

from io import StringIO

import pytest
from django.core.management import call_command

from incidents import services
from incidents.models import Incident
from tests.incidents.conftest import declare


@pytest.mark.django_db
def test_the_dashboard_shows_an_open_incident(client, sam, settings):
    settings.DASHBOARD_CACHE_SECONDS = 0
    declare(sam, title="Gangguan CASN")
    client.force_login(sam)
    page = client.get("/admin/dashboard/").content.decode()
    assert 'id="open-incidents"' in page and "Gangguan CASN" in page


@pytest.mark.django_db
def test_the_dashboard_leaves_out_an_ended_incident(client, sam, settings):
    settings.DASHBOARD_CACHE_SECONDS = 0
    services.update_window(incident=declare(sam), end_now=True)
    client.force_login(sam)
    assert 'id="open-incidents"' not in client.get("/admin/dashboard/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_seed_demo_declares_an_open_incident_covering_demo_reports():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    incident = Incident.objects.get()
    assert (incident.is_open, incident.links.count() > 0) == (True, True)
    assert "Declared the open incident" in out.getvalue()
