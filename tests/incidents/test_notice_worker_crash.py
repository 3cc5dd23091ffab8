"""A real Celery worker sending an incident's notice to 300 applicants, SIGKILLed in the middle of a
batch; another worker and `resume_incident_notices` finish it: every ticket gets the notice once on
each of its channels, at the outbox and at the Twilio and SMTP doubles."""

import signal
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from incidents.models import IncidentNotice, JobState, NoticeRun
from notifications.models import Message, MessageStatus
from tests import processes
from tests.factories import TicketFactory
from tests.incidents.conftest import declare

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,  # the worker process must share the test database (and row locks)
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(300),
]

TICKETS = 300
BATCH = 25
STOP_AT = 4 * BATCH + 10  # the 110th ticket: the fifth batch's eleventh
LEASE = 2  # seconds before a sending nobody touched counts as dead; production: 5 minutes
CLAIM_TIMEOUT = 3  # seconds before a delivery or a task a dead worker held is taken up again
NOTICE_ID = "Gangguan server meterai 12 Mei: kuota Anda akan dikembalikan."


def _start_worker(twilio, smtp, tmp_path, log):
    env = processes.product_env(
        twilio=twilio,
        smtp=smtp,
        media_root=tmp_path / "media",
        INCIDENT_NOTICE_BATCH=BATCH,
        INCIDENT_NOTICE_PAUSE_SECONDS=1,
        INCIDENT_NOTICE_LEASE_SECONDS=LEASE,
        CELERY_VISIBILITY_TIMEOUT=CLAIM_TIMEOUT,
        OUTBOX_CLAIM_TIMEOUT_SECONDS=CLAIM_TIMEOUT,
        OUTBOX_SWEEP_GRACE_SECONDS=1,
        OUTBOX_HANDOVER_LEASE_SECONDS=CLAIM_TIMEOUT,
    )
    return processes.start_worker(env, log)


def _hold_the_marker_of(ticket, incident, version):
    """Another connection inserts the ticket's "notice sent" marker and keeps its transaction open:
    the worker that reaches this ticket waits on the row lock, in the middle of its batch."""
    side = connection.get_new_connection(connection.get_connection_params())
    with side.cursor() as cursor:
        cursor.execute(
            "INSERT INTO incidents_incidentnotice (incident_id, ticket_id, version, sent_at) "
            "VALUES (%s, %s, %s, now())",
            [incident.pk, ticket.pk, version],
        )
    return side


def _a_worker_waits_on_a_lock():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_notice_whose_worker_is_killed_mid_batch_reaches_everyone_once(
    sam, twilio_double, smtp_server, broker, tmp_path
):
    tickets = [TicketFactory(attempted_at=timezone.now() - timedelta(minutes=30)) for _ in range(TICKETS)]
    incident = declare(sam, notice_id=NOTICE_ID)
    assert incident.links.count() == TICKETS
    run = NoticeRun.objects.create(incident=incident, version=incident.notice_version, started_by=sam)
    side = _hold_the_marker_of(tickets[STOP_AT - 1], incident, run.version)

    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed at the end
    worker = _start_worker(twilio_double, smtp_server, tmp_path, log)
    try:
        broker.send_task("incidents.tasks.send_incident_notice", args=[run.pk])  # what start_notice does
        # a batch's markers commit together: the batches before the one holding ticket 110
        committed_before = (STOP_AT - 1) // BATCH * BATCH
        sent_before = lambda: IncidentNotice.objects.count() == committed_before  # noqa: E731
        processes.wait_for(
            lambda: sent_before() and _a_worker_waits_on_a_lock(), 90, "the worker to reach ticket 110"
        )
        processes.stop(
            worker
        )  # SIGKILL in the middle of the fifth batch, deliveries of earlier ones in flight
        side.rollback()  # the dead worker's transaction is rolled back too: ticket 110 is not sent
        time.sleep(0.5)
        assert IncidentNotice.objects.count() == committed_before
        assert NoticeRun.objects.get(pk=run.pk).state == JobState.RUNNING

        worker = _start_worker(twilio_double, smtp_server, tmp_path, log)
        time.sleep(LEASE + 0.5)

        def finished():
            # beat's jobs: take up the stopped sending, and the deliveries the dead worker held
            broker.send_task("incidents.tasks.resume_incident_notices")
            broker.send_task("notifications.tasks.sweep_outbox")
            done = NoticeRun.objects.get(pk=run.pk).state == JobState.DONE
            notices = Message.objects.filter(event="incident_notice")
            return done and not notices.exclude(status=MessageStatus.SENT).exists()

        processes.wait_for(finished, 180, "every notice to be sent", interval=2)
    finally:
        side.close()  # rolled back if still open: the database's teardown must not wait on it
        processes.stop(worker, signal.SIGTERM)
        log.close()

    markers = Counter(IncidentNotice.objects.values_list("ticket_id", flat=True))
    assert set(markers) == {ticket.pk for ticket in tickets} and set(markers.values()) == {1}

    outbox = Counter(Message.objects.filter(event="incident_notice").values_list("ticket_id", "channel"))
    expected = {(ticket.pk, channel) for ticket in tickets for channel in ("whatsapp", "email")}
    assert set(outbox) == expected and set(outbox.values()) == {1}

    whatsapp = Counter(
        m["form"]["To"] for m in twilio_double.messages if NOTICE_ID in m["form"].get("Body", "")
    )
    assert whatsapp == Counter(f"whatsapp:{ticket.whatsapp}" for ticket in tickets)
    mail = Counter(
        recipient
        for received in smtp_server.messages
        if NOTICE_ID in received.message.get_body().get_content()
        for recipient in received.rcpt_tos
    )
    assert mail == Counter(ticket.email for ticket in tickets)
