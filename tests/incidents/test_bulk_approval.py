"""Approving all confirmed proposals of an incident: a background job, four eyes per item, resumable."""

import pytest
from django.core.exceptions import PermissionDenied

from incidents import services
from incidents.models import BulkApproval, JobState
from refunds.models import Remedy, RemedyState
from tests.incidents.conftest import confirmed_report, declare
from tickets import services as tickets
from tickets.models import State, TicketTransition

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(sam):
    return declare(sam)


def start(incident, actor, capture):
    with capture(execute=True):
        job = services.start_bulk_approval(incident=incident, actor=actor)
    job.refresh_from_db()
    return job


def test_a_supervisor_approves_every_confirmed_system_proposal_of_the_incident(
    platform, incident, sam, django_capture_on_commit_callbacks
):
    reports = [confirmed_report(platform, n) for n in (1, 2, 3)]
    job = start(incident, sam, django_capture_on_commit_callbacks)
    assert (job.state, job.total, job.approved, job.failures) == (JobState.DONE, 3, 3, {})
    assert set(Remedy.objects.filter(ticket__in=reports).values_list("state", "approved_by")) == {
        (RemedyState.APPROVED, sam.pk)
    }


def test_an_agent_cannot_start_a_bulk_approval(platform, incident, alice):
    confirmed_report(platform, 1)
    with pytest.raises(PermissionDenied):
        services.start_bulk_approval(incident=incident, actor=alice)
    assert not BulkApproval.objects.exists()


def test_four_eyes_is_judged_for_each_item_when_the_worker_runs(
    platform, incident, sam, django_capture_on_commit_callbacks
):
    confirmed_report(platform, 1)
    confirmed_report(platform, 2)
    job = services.start_bulk_approval(incident=incident, actor=sam)
    sam.groups.clear()  # sam is no longer a supervisor when the worker gets to it
    sam.user_permissions.clear()
    sam.is_superuser = False
    sam.save()
    job = services.run_bulk_approval(job_id=job.pk)
    assert (job.approved, len(job.failures)) == (0, 2)
    assert set(Remedy.objects.values_list("state", flat=True)) == {RemedyState.PROPOSED}


def test_a_proposal_made_by_a_person_is_not_part_of_the_bulk_approval(platform, incident, sam, sue):
    ticket = confirmed_report(platform, 1)
    Remedy.objects.filter(ticket=ticket).update(proposed_by=sue)
    job = services.start_bulk_approval(incident=incident, actor=sam)
    assert job.total == 0


def test_running_the_job_again_approves_nothing_twice(platform, incident, sam):
    first = confirmed_report(platform, 1)
    confirmed_report(platform, 2)
    job = services.start_bulk_approval(incident=incident, actor=sam)
    tickets.fire("approve", ticket=first, actor=sam)  # approved before the job (or by a run that died)
    services.run_bulk_approval(job_id=job.pk)
    BulkApproval.objects.filter(pk=job.pk).update(state=JobState.RUNNING)  # as if the worker died at the end
    job = services.run_bulk_approval(job_id=job.pk)
    assert (job.approved, job.failures) == (2, {})
    assert TicketTransition.objects.filter(name="approve").count() == 2


def test_the_incident_page_shows_figures_and_the_approve_button_to_a_supervisor(
    admin_client_for, incident, sam
):
    page = admin_client_for(sam).get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert 'id="incident-figures"' in page and 'form="approve-confirmed"' in page


def test_the_approve_button_starts_the_job(
    platform, admin_client_for, incident, sam, django_capture_on_commit_callbacks
):
    ticket = confirmed_report(platform, 1)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_for(sam).post(f"/admin/incidents/incident/{incident.pk}/approve-confirmed/")
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == State.APPROVED


def test_an_incident_without_automatic_proposals_leaves_confirmed_reports_to_the_agents(platform, sam):
    declare(sam, auto_propose=False)
    ticket = confirmed_report(platform, 7)
    assert ticket.state == State.REPORTED and not Remedy.objects.filter(ticket=ticket).exists()
    assert ticket.verification.outcome == "confirmed" and ticket.verification.proposed_at is None
    assert "leaves its confirmed reports to an agent" in ticket.verification.last_error
