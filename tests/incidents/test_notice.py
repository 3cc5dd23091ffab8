"""The incident's notice goes to every applicant through the outbox, once per ticket and version."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from incidents import services
from incidents.models import IncidentNotice, JobState, NoticeRun
from notifications.models import Message
from tests.factories import TicketFactory
from tests.incidents.conftest import declare

pytestmark = pytest.mark.django_db


def linked_reports(count, **fields):
    return [
        TicketFactory(
            attempted_at=timezone.now() - timedelta(minutes=30), preferred_channel="email", **fields
        )
        for _ in range(count)
    ]


def notices(ticket):
    return Message.objects.filter(ticket=ticket, event="incident_notice")


def test_every_applicant_of_the_incident_gets_the_notice_in_their_language(
    sam, settings, django_capture_on_commit_callbacks
):
    settings.INCIDENT_NOTICE_BATCH = 2
    indonesian, english = linked_reports(1)[0], linked_reports(1, language="en")[0]
    incident = declare(sam)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.start_notice(incident=incident, actor=sam)
    assert "Kami tahu tentang gangguan ini" in notices(indonesian).first().body
    assert "We know about this outage" in notices(english).first().body
    run.refresh_from_db()
    assert run.state == JobState.DONE


def test_the_notice_is_sent_in_batches(sam, settings):
    settings.INCIDENT_NOTICE_BATCH = 2
    linked_reports(3)
    run = services.start_notice(incident=declare(sam), actor=sam)
    assert services.send_notice_batch(run_id=run.pk) == 1
    assert IncidentNotice.objects.count() == 2


def test_a_batch_skips_a_ticket_another_worker_marked_and_hands_the_rest_over_at_once(
    sam, settings, django_capture_on_commit_callbacks
):
    settings.INCIDENT_NOTICE_BATCH = 10
    first, taken, third = linked_reports(3)
    run = services.start_notice(incident=declare(sam), actor=sam)
    IncidentNotice.objects.create(
        incident=run.incident, ticket=taken, version=run.version
    )  # the other worker
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.send_notice_batch(run_id=run.pk) == 0
    assert len(callbacks) == 1  # one transaction, one publish for the batch
    assert (notices(first).count(), notices(taken).count(), notices(third).count()) == (
        2,
        0,
        2,
    )  # WhatsApp and email


def test_running_the_sending_twice_sends_once_per_ticket(sam):
    (ticket,) = linked_reports(1)
    run = services.start_notice(incident=declare(sam), actor=sam)
    services.send_notice_batch(run_id=run.pk)
    sent_first = notices(ticket).count()
    NoticeRun.objects.filter(pk=run.pk).update(state=JobState.RUNNING)  # as if it crashed before finishing
    services.send_notice_batch(run_id=run.pk)
    second = services.start_notice(incident=run.incident, actor=sam)  # a second click, same version
    services.send_notice_batch(run_id=second.pk)
    assert (sent_first > 0, notices(ticket).count()) == (True, sent_first)


def test_a_crashed_sending_is_resumed_once_its_lease_expired(sam, settings):
    linked_reports(1)
    run = services.start_notice(incident=declare(sam), actor=sam)
    assert services.unfinished_notice_runs() == []
    NoticeRun.objects.filter(pk=run.pk).update(touched_at=timezone.now() - timedelta(hours=1))
    assert services.unfinished_notice_runs() == [run.pk]


def test_an_agent_cannot_send_the_notice(alice, sam):
    with pytest.raises(PermissionDenied):
        services.start_notice(incident=declare(sam), actor=alice)


def test_the_incident_page_shows_the_sending_progress(client, sam):
    linked_reports(2)
    incident = declare(sam)
    run = services.start_notice(incident=incident, actor=sam)
    services.send_notice_batch(run_id=run.pk)
    client.force_login(sam)
    page = client.get(f"/admin/incidents/incident/{incident.pk}/change/").content.decode()
    assert '<span class="notice-sent">2</span> / 2' in page
