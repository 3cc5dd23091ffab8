"""The finance export filtered by incident: only the remedies of its linked reports; the incident page
links to it."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from incidents import selectors
from tests.incidents.conftest import declare
from tests.refunds.helpers import quota_proposal
from tickets import services as tickets

pytestmark = pytest.mark.django_db
URL = "/api/v1/remedies/export/"


@pytest.fixture(autouse=True)
def _paused(settings):
    settings.REMEDIES_PAUSED = True


def approved(alice, sam, minutes_ago):
    remedy = quota_proposal(alice, attempted_at=timezone.now() - timedelta(minutes=minutes_ago))
    tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    return remedy


def get(user, **params):
    client = APIClient()
    client.force_authenticate(user)
    return client.get(URL, params)


def remedy_ids(response):
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode()
    return {int(row["remedy_id"]) for row in csv.DictReader(io.StringIO(text))}


def today():
    return timezone.localdate().isoformat()


def test_the_export_keeps_only_the_remedies_of_the_incidents_reports(alice, sam, fin):
    inside = approved(alice, sam, minutes_ago=30)
    outside = approved(alice, sam, minutes_ago=6 * 60)  # attempted before the window
    incident = declare(sam, hours_ago=2)
    other = declare(sam, hours_ago=8, ends_at=timezone.now() - timedelta(hours=3), title="Earlier")

    assert remedy_ids(get(fin, incident=incident.pk, **{"from": today(), "to": today()})) == {inside.pk}
    assert remedy_ids(get(fin, incident=other.pk, **{"from": today(), "to": today()})) == {outside.pk}
    assert remedy_ids(get(fin, **{"from": today(), "to": today()})) == {inside.pk, outside.pk}


def test_the_filtered_export_names_the_incident_in_its_file_name(sam, fin):
    incident = declare(sam)
    response = get(fin, incident=incident.pk, **{"from": "2026-03-01", "to": "2026-03-02"})
    assert f"remedies-incident-{incident.pk}-2026-03-01-2026-03-02.csv" in response["Content-Disposition"]


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", "", "²", "99999999", str(2**64)])
def test_a_bad_incident_id_is_a_400_in_the_error_envelope(sam, fin, value):
    declare(sam)
    response = get(fin, incident=value, **{"from": today(), "to": today()})
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "errors"} and list(body["errors"]) == ["incident"]


def test_a_bad_incident_and_a_bad_period_are_reported_together(fin):
    response = get(fin, incident="x", **{"from": "yesterday", "to": today()})
    assert set(response.json()["errors"]) == {"from", "incident"}


def test_the_schema_documents_the_incident_filter(client, sam):
    client.force_login(sam)
    schema = client.get("/api/schema/?format=json").json()
    parameters = {p["name"]: p for p in schema["paths"][URL]["get"]["parameters"]}
    assert parameters["incident"]["schema"]["type"] == "integer"
    assert not parameters["incident"].get("required") and parameters["incident"]["description"]


def test_the_incident_page_links_a_supervisor_to_its_export(client, alice, sam):
    remedy = approved(alice, sam, minutes_ago=30)
    incident = declare(sam)
    client.force_login(sam)
    page = client.get(f"/admin/incidents/incident/{incident.pk}/change/")
    link = page.context["export_url"]
    assert 'id="export-remedies"' in page.content.decode()
    response = client.get(link)
    assert remedy_ids(response) == {remedy.pk}


def test_an_agent_sees_no_export_link_on_the_incident_page(client, alice, sam):
    incident = declare(sam)
    client.force_login(alice)
    page = client.get(f"/admin/incidents/incident/{incident.pk}/change/")
    assert page.status_code == 200 and 'id="export-remedies"' not in page.content.decode()


def test_the_linked_period_runs_from_the_incidents_first_day_and_fits_the_export(sam):
    incident = declare(sam, hours_ago=2)
    first = timezone.localtime(incident.starts_at).date()
    assert selectors.export_period(incident, today=first + timedelta(days=3)) == (first, first + timedelta(3))
    assert selectors.export_period(incident, today=first + timedelta(days=900)) == (
        first,
        first + timedelta(days=365),
    )
