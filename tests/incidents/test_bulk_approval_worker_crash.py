"""A real worker on Redis, SIGKILLed in the middle of an incident's bulk approval, then another:
each proposal approved once, with one log row, one notification per channel and one hand-over."""

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg2
import pytest
from celery import Celery
from django.conf import settings
from django.db import connection
from django.utils import timezone

from incidents.models import BulkApproval, IncidentTicket, JobState
from notifications.models import Message
from refunds.models import Remedy, RemedyKind, RemedyState
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


def _database_url():
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(log):
    """The worker of the `default` queue (incident jobs); the remedies and deliveries it hands over stay
    in their queues, where the test counts them."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        TESTING="1",
        DEBUG="",
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=os.environ["CELERY_INTEGRATION_BROKER"],
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        INCIDENT_APPROVAL_CHUNK=str(CHUNK),
        REMEDIES_PAUSED="",
    )
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-l", "WARNING"]
    command += ["-Q", "default", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def _stop(worker, sig=signal.SIGKILL):
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
        worker.wait(10)


def _wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def broker():
    import redis

    url = os.environ["CELERY_INTEGRATION_BROKER"]
    redis.Redis.from_url(url).flushdb()
    app = Celery("test-client", broker=url, set_as_current=False)
    app.conf.task_routes = settings.CELERY_TASK_ROUTES
    app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    yield app
    app.close()
    redis.Redis.from_url(url).flushdb()


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
    holder = psycopg2.connect(_database_url())  # another session holds one ticket of the 7th chunk
    with holder.cursor() as cursor:
        cursor.execute("SELECT id FROM tickets_ticket WHERE id = %s FOR UPDATE", [blocked_ticket])
    progress = lambda: BulkApproval.objects.get(pk=job.pk).approved  # noqa: E731

    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed at the end
    worker = _start_worker(log)
    try:
        broker.send_task("incidents.tasks.approve_confirmed", args=[job.pk])
        _wait_for(lambda: progress() == 300, 60, "six chunks approved, the seventh waiting for its lock")
        time.sleep(0.5)
        _stop(worker)  # SIGKILL in the middle of the seventh chunk's transaction
        holder.rollback()
        holder.close()

        left = BulkApproval.objects.get(pk=job.pk)
        assert (left.state, left.approved, left.failures) == (JobState.RUNNING, 300, {})
        assert Remedy.objects.filter(pk__in=ids, state=RemedyState.APPROVED).count() == 300
        assert TicketTransition.objects.filter(name="approve").count() == 300
        assert Message.objects.filter(event="approved").count() == 600

        time.sleep(VISIBILITY_TIMEOUT + 0.5)
        worker = _start_worker(log)  # the broker gives it the task the dead worker never acknowledged
        done = lambda: BulkApproval.objects.get(pk=job.pk).state == JobState.DONE  # noqa: E731
        _wait_for(done, 90, "the new worker to finish the job")
    finally:
        _stop(worker, signal.SIGTERM)
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
    # apply_remedies, a batch published after each chunk's commit
    handed_over = Counter(remedy_id for batch in _queued("remedies") for remedy_id in batch)
    assert set(handed_over) == set(ids) and set(handed_over.values()) == {1}
    delivered = Counter(message_id for batch in _queued("deliveries") for message_id in batch)
    assert set(delivered) == set(Message.objects.filter(event="approved").values_list("pk", flat=True))
    assert set(delivered.values()) == {1}
