"""The supervisors' dashboard: its figures, its charts with their tables, CSV downloads, and who sees it."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from refunds.services import record_application
from tests.factories import ticket_in_state
from tickets.models import State, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("staff_in_english")]

URL = "/admin/dashboard/"


@pytest.fixture(autouse=True)
def _fresh_figures(settings):
    settings.DASHBOARD_CACHE_SECONDS = 0
    settings.REMEDIES_PAUSED = True


def rows(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_supervisor_sees_charts_tables_and_links(client, sam):
    ticket_in_state(State.AWAITING_APPROVAL)
    client.force_login(sam)
    response = client.get(URL)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count("<svg") >= 5
    for slug in ("states", "daily", "backlog", "sla", "ledger"):
        assert f"/admin/dashboard/{slug}.csv" in html
    assert 'id="awaiting-approval"' in html


def test_agents_and_finance_are_refused(client, alice, fin):
    for user in (alice, fin):
        client.force_login(user)
        assert client.get(URL).status_code == 403
        assert client.get(URL + "states.csv").status_code == 403


def test_anonymous_goes_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_admin_index_links_the_dashboard_for_supervisors(client, sam, alice):
    client.force_login(sam)
    assert URL in client.get("/admin/").content.decode()
    client.force_login(alice)
    assert URL not in client.get("/admin/").content.decode()


def test_csv_figures(client, sam, alice):
    for state in (State.REPORTED, State.REPORTED, State.IN_REVIEW):
        ticket_in_state(state)
    late = ticket_in_state(State.REPORTED)
    Ticket.objects.filter(pk=late.pk).update(state_changed_at=timezone.now() - timedelta(hours=5))
    applied = ticket_in_state(State.APPROVED, proposer=alice)
    remedy = applied.remedies.get()
    remedy.quantity = 3
    remedy.save()
    record_application(remedy_id=remedy.pk, provider_reference="P-9", gateway="ledger")
    client.force_login(sam)

    states = dict(rows(client.get(URL + "states.csv"))[1:])
    assert states["Reported"] == "3" and states["In review"] == "1"
    sla = dict(rows(client.get(URL + "sla.csv"))[1:])
    assert sla["Reported"] == "1"
    daily = rows(client.get(URL + "daily.csv"))
    assert daily[0] == ["Day", "Opened", "Resolved"] and len(daily) == 31
    assert daily[-1][0] == timezone.localdate().isoformat() and daily[-1][1:] == ["5", "1"]
    ledger = rows(client.get(URL + "ledger.csv"))
    assert ledger[-1][1:] == ["3", "0"]
    backlog = rows(client.get(URL + "backlog.csv"))
    assert backlog[1] == ["< 4 h", "4"]
    assert client.get(URL + "nothing.csv").status_code == 404
