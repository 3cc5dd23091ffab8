"""Approving all confirmed proposals of an incident: a background job, four eyes per item, resumable."""

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from incidents import services
from incidents.models import BulkApproval, JobState
from notifications.models import Message
from refunds import services as refunds
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


def test_a_mixed_chunk_judges_each_item_as_one_approval_would(
    platform, incident, sam, sue, settings, django_capture_on_commit_callbacks
):
    """In one chunk: approved, approved meanwhile by someone else, sent back, re-proposed by the job's
    own supervisor (four eyes), and no longer awaiting approval; each with its own result."""
    settings.INCIDENT_APPROVAL_CHUNK = 10
    ok, elsewhere, sent_back, own, gone = (confirmed_report(platform, n) for n in range(1, 6))
    job = services.start_bulk_approval(incident=incident, actor=sam)
    tickets.fire("approve", ticket=elsewhere, actor=sue)
    tickets.fire("send_back", ticket=sent_back, actor=sue, reason="Cek lagi.")
    tickets.fire("send_back", ticket=own, actor=sue, reason="Cek lagi.")
    tickets.fire("propose_remedy", ticket=own, actor=sam, quantity=1)
    tickets.fire("send_back", ticket=gone, actor=sue, reason="Cek lagi.")
    tickets.fire("reject", ticket=gone, actor=sue, reason="Bukan gangguan.")
    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        job = services.run_bulk_approval(job_id=job.pk)
    assert (job.state, job.total, job.approved) == (JobState.DONE, 5, 2)
    errors = {failure["ticket"]: failure["error"] for failure in job.failures.values()}
    assert errors == {
        sent_back.reference: "Not allowed while the ticket is “In review”.",
        own.reference: "You cannot approve a remedy you proposed yourself.",
        gone.reference: "Not allowed while the ticket is “Rejected”.",
    }
    assert job.done == job.total
    approvals = TicketTransition.objects.filter(name="approve")
    assert sorted(approvals.values_list("ticket", "actor")) == sorted(
        [(ok.pk, sam.pk), (elsewhere.pk, sue.pk)]
    )
    assert Message.objects.filter(event="approved", ticket=ok).count() == 2  # WhatsApp and email, once


def test_a_run_that_dies_mid_job_keeps_whole_chunks_and_the_next_run_finishes_it(
    platform, incident, sam, settings, monkeypatch
):
    settings.INCIDENT_APPROVAL_CHUNK = 2
    reports = [confirmed_report(platform, n) for n in range(1, 6)]
    job = services.start_bulk_approval(incident=incident, actor=sam)
    approve_set = refunds.mark_many_approved
    calls = []

    def dies_in_the_second_chunk(changes):
        calls.append(len(changes))
        approve_set(changes)
        if len(calls) == 2:
            raise SystemExit("worker killed")  # after the chunk's approvals, before its commit

    monkeypatch.setattr(refunds, "mark_many_approved", dies_in_the_second_chunk)
    with pytest.raises(SystemExit):
        services.run_bulk_approval(job_id=job.pk)
    job.refresh_from_db()
    assert (job.state, job.approved, job.failures) == (JobState.RUNNING, 2, {})  # the first chunk's progress
    assert Remedy.objects.filter(state=RemedyState.APPROVED).count() == 2
    assert TicketTransition.objects.filter(name="approve").count() == 2
    assert Message.objects.filter(event="approved").count() == 4

    job = services.run_bulk_approval(job_id=job.pk)  # the task delivered again
    assert (job.state, job.approved, job.failures) == (JobState.DONE, 5, {})
    assert calls == [2, 2, 2, 1]  # the first chunk is not judged again
    for ticket in reports:
        assert TicketTransition.objects.filter(name="approve", ticket=ticket).count() == 1
        assert Message.objects.filter(event="approved", ticket=ticket).count() == 2


def test_progress_is_stored_after_each_chunk(platform, incident, sam, settings, monkeypatch):
    settings.INCIDENT_APPROVAL_CHUNK = 2
    for n in range(1, 6):
        confirmed_report(platform, n)
    job = services.start_bulk_approval(incident=incident, actor=sam)
    seen = []
    approve = services.approve_remedies

    def watching(**kwargs):
        seen.append(BulkApproval.objects.get(pk=job.pk).approved)
        return approve(**kwargs)

    monkeypatch.setattr(services, "approve_remedies", watching)
    job = services.run_bulk_approval(job_id=job.pk)
    assert seen == [0, 2, 4] and job.approved == 5


def test_a_task_works_for_its_time_then_hands_the_rest_to_the_next_task(platform, incident, sam, settings):
    """Each task stays inside the worker's time limit whatever the job's size: one chunk at least a
    run, then the next task (inline here, eager) takes the rest."""
    from incidents.tasks import approve_confirmed

    settings.INCIDENT_APPROVAL_CHUNK = 2
    settings.INCIDENT_APPROVAL_TASK_SECONDS = 0
    reports = [confirmed_report(platform, n) for n in range(1, 6)]
    job = services.start_bulk_approval(incident=incident, actor=sam)
    first = services.run_bulk_approval(job_id=job.pk, seconds=0)
    assert (first.state, first.approved) == (JobState.RUNNING, 2)
    approve_confirmed.delay(job.pk)
    job.refresh_from_db()
    assert (job.state, job.approved, job.failures) == (JobState.DONE, 5, {})
    assert TicketTransition.objects.filter(ticket__in=reports, name="approve").count() == 5


def test_a_job_whose_task_was_lost_is_taken_up_again_after_its_lease(platform, incident, sam, settings):
    from datetime import timedelta

    from django.utils import timezone

    from incidents.tasks import resume_bulk_approvals

    confirmed_report(platform, 1)
    confirmed_report(platform, 2)
    lost = services.start_bulk_approval(incident=incident, actor=sam)  # its task never reached a worker
    assert resume_bulk_approvals() == 0  # inside the lease: a worker may still be on its way
    BulkApproval.objects.filter(pk=lost.pk).update(
        touched_at=timezone.now() - timedelta(seconds=settings.INCIDENT_APPROVAL_LEASE_SECONDS + 1)
    )
    assert resume_bulk_approvals() == 1  # eager: run inline
    lost.refresh_from_db()
    assert (lost.state, lost.approved) == (JobState.DONE, 2)
    assert resume_bulk_approvals() == 0
    assert TicketTransition.objects.filter(name="approve").count() == 2
