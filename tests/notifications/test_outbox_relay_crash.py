"""A real relay, SIGKILLed inside its transaction while its publish hangs, then another relay and a
worker: every committed message delivered, none twice."""

import signal
from collections import Counter
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from django.db import connection

from notifications import services
from notifications.models import Message, MessageStatus
from tests import processes
from tests.factories import TicketFactory

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,  # the relay and the worker must share the test database
    pytest.mark.django_db(transaction=True),
]


def relay_command(env, log):
    return processes.start_manage(env, log, "relay_outbox", "--idle-ms", "50")


def inside_a_transaction():
    """Backends of the test database (not ours) holding a transaction open: the relay, mid-batch."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.fixture
def broker():
    client = redis.Redis.from_url(processes.broker_url())
    client.flushdb()
    yield urlsplit(processes.broker_url())
    client.flushdb()


def test_a_relay_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    settings, broker, twilio_double, smtp_server, tmp_path
):
    settings.OUTBOX_RELAY = True
    tickets = [TicketFactory(email=f"siti{n}@example.com", whatsapp=f"+62812345678{n:02d}") for n in range(5)]
    for ticket in tickets:
        services.notify(ticket=ticket, event="closed")  # committed; nothing published
    messages = Message.objects.filter(ticket__in=tickets)
    assert messages.count() == 10

    proxy = processes.StallingProxy((broker.hostname, broker.port))
    stalled_broker = urlunsplit(broker._replace(netloc=f"127.0.0.1:{proxy.port}"))
    env = processes.product_env(
        twilio=twilio_double, smtp=smtp_server, media_root=tmp_path / "media", OUTBOX_RELAY="1"
    )
    log = open(tmp_path / "processes.log", "w")  # noqa: SIM115 - closed at the end
    started = []
    try:
        proxy.stall()  # the first relay's publish hangs inside its transaction
        first = relay_command({**env, "CELERY_BROKER_URL": stalled_broker}, log)
        started.append(first)
        processes.wait_for(lambda: inside_a_transaction(), 30, "the relay to lock a batch")
        processes.stop(first)  # SIGKILL: no commit
        processes.wait_for(lambda: not inside_a_transaction(), 10, "PostgreSQL to roll the batch back")
        assert set(messages.values_list("handed_over_at", flat=True)) == {None}
        proxy.flow()  # what it had sent reaches Redis: a task for the batch that was never committed

        started.append(processes.start_worker(env, log, queues=["deliveries"]))
        started.append(relay_command(env, log))
        processes.wait_for(
            lambda: not messages.filter(status=MessageStatus.QUEUED).exists(), 30, "every message sent"
        )
    finally:
        for process in started:
            processes.stop(process, signal.SIGTERM)
        proxy.close()
        log.close()

    assert set(messages.values_list("status", flat=True)) == {MessageStatus.SENT}
    bodies = Counter(sent["form"]["Body"] for sent in twilio_double.messages)
    assert len(bodies) == 5 and set(bodies.values()) == {1}
    mail_ids = Counter(received.message["Message-ID"] for received in smtp_server.messages)
    assert len(mail_ids) == 5 and set(mail_ids.values()) == {1}
