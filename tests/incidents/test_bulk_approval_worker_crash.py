"""A real worker on Redis, SIGKILLed in the middle of an incident's bulk approval, then another:
each proposal approved once, with one log row, one notification per channel and one hand-over."""

import base64
import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

import psycopg2
import pytest
from django.utils import timezone

from incidents.models import BulkApproval, IncidentTicket, JobState
from notifications.models import Message
from refunds.models import Remedy, RemedyKind, RemedyState
from tests import processes
from tests.incidents.conftest import declare
from tickets.models import State, Ticket, TicketTransition
from verification.models import Outcome, Verification

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,  # the worker process must share the test database
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 3  # seconds before the broker gives a dead worker's task to another; production 600
PROPOSALS = 400
CHUNK = 50
BLOCKED_AT = 325  # the proposal whose ticket the test holds locked: the 7th chunk waits for it


def _start_worker(log, tmp_path):
    """The worker of the `default` queue (incident jobs); the remedies and deliveries it hands over stay
    in their queues, where the test counts them."""
    env = processes.product_env(
        media_root=tmp_path / "media",
        CELERY_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT,
        INCIDENT_APPROVAL_CHUNK=CHUNK,
        REMEDIES_PAUSED="",
    )
    return processes.start_worker(env, log, queues=["default"])


def _queued(queue):
    """The first argument of each task waiting in `queue` (Celery's message body: [args, kwargs, embed])."""
    import redis

    client = redis.Redis.from_url(os.environ["CELERY_INTEGRATION_BROKER"])
    bodies = (json.loads(raw)["body"] for raw in client.lrange(queue, 0, -1))
    return [json.loads(base64.b64decode(body))[0][0] for body in bodies]


def _confirmed_proposals(incident, count):
    """What verification leaves for `count` confirmed reports of the incident, written directly."""
    now = timezone.now()
    tickets = Ticket.objects.bulk_create(
        Ticket(
            state=State.AWAITING_APPROVAL,
            category="stamp_failed",
            full_name=f"Pelapor {index}",
            email=f"pelapor{index}@example.com",
            whatsapp=f"+62812{index:08d}",
            quota_lost=2,
            attempted_at=now,
        )
        for index in range(count)
    )
    Verification.objects.bulk_create(Verification(ticket=t, outcome=Outcome.CONFIRMED) for t in tickets)
    IncidentTicket.objects.bulk_create(IncidentTicket(incident=incident, ticket=t) for t in tickets)
    remedies = Remedy.objects.bulk_create(
        Remedy(ticket=t, kind=RemedyKind.QUOTA, quantity=2, account=t.email) for t in tickets
    )
    return [remedy.pk for remedy in remedies]


def test_worker_killed_mid_bulk_approval_a_new_worker_finishes_it_each_once(sam, broker, tmp_path):
    incident = declare(sam)
    ids = _confirmed_proposals(incident, PROPOSALS)
    job = BulkApproval.objects.create(incident=incident, started_by=sam, remedy_ids=ids, total=len(ids))
    blocked_ticket = Remedy.objects.get(pk=ids[BLOCKED_AT]).ticket_id
    holder = psycopg2.connect(processes.database_url())  # another session holds one ticket of the 7th chunk
    with holder.cursor() as cursor:
        cursor.execute("SELECT id FROM tickets_ticket WHERE id = %s FOR UPDATE", [blocked_ticket])
    progress = lambda: BulkApproval.objects.get(pk=job.pk).approved  # noqa: E731

    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed at the end
    worker = _start_worker(log, tmp_path)
    try:
        broker.send_task("incidents.tasks.approve_confirmed", args=[job.pk])
        processes.wait_for(
            lambda: progress() == 300, 60, "six chunks approved, the seventh waiting for its lock"
        )
        time.sleep(0.5)
        processes.stop(worker)  # SIGKILL in the middle of the seventh chunk's transaction
        holder.rollback()
        holder.close()

        left = BulkApproval.objects.get(pk=job.pk)
        assert (left.state, left.approved, left.failures) == (JobState.RUNNING, 300, {})
        assert Remedy.objects.filter(pk__in=ids, state=RemedyState.APPROVED).count() == 300
        assert TicketTransition.objects.filter(name="approve").count() == 300
        assert Message.objects.filter(event="approved").count() == 600

        time.sleep(VISIBILITY_TIMEOUT + 0.5)
        worker = _start_worker(
            log, tmp_path
        )  # the broker gives it the task the dead worker never acknowledged
        done = lambda: BulkApproval.objects.get(pk=job.pk).state == JobState.DONE  # noqa: E731
        processes.wait_for(done, 90, "the new worker to finish the job")
    finally:
        processes.stop(worker, signal.SIGTERM)
        log.close()

    job.refresh_from_db()
    assert (job.approved, job.failures) == (PROPOSALS, {})
    assert set(Remedy.objects.filter(pk__in=ids).values_list("state", "approved_by")) == {
        (RemedyState.APPROVED, sam.pk)
    }
    logs = Counter(TicketTransition.objects.filter(name="approve").values_list("ticket", flat=True))
    assert len(logs) == PROPOSALS and set(logs.values()) == {1}
    told = Counter(Message.objects.filter(event="approved").values_list("ticket", "channel"))
    assert len(told) == 2 * PROPOSALS and set(told.values()) == {1}  # WhatsApp and email, once each
    # apply_remedies, batches of remedy ids published after each chunk's commit
    handed_over = Counter(remedy_id for batch in _queued("remedies") for remedy_id in batch)
    assert set(handed_over) == set(ids) and set(handed_over.values()) == {1}
    delivered = Counter(message_id for batch in _queued("deliveries") for message_id in batch)
    assert set(delivered) == set(Message.objects.filter(event="approved").values_list("pk", flat=True))
    assert set(delivered.values()) == {1}
