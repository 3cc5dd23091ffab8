"""Scale-out shown over real HTTP: two web processes on two ports and two Celery workers, one
PostgreSQL and one Redis. What a single process guarantees must hold across them: the per-client rate
limit is counted once for the site (Redis), an Idempotency-Key retried on the other process gets the
first answer and stores one report, and every outbox message is delivered exactly once by whichever
worker takes it.
"""

import signal
import threading
import time
from collections import Counter

import pytest
import redis
import requests
from celery import Celery

from notifications.models import Direction, Message, MessageStatus
from tests import processes
from tests.tickets.intake_helpers import other_json
from tickets.models import IdempotencyRecord, Ticket
from tickets.ratelimit import WINDOW_SECONDS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,  # the processes must share the test database
    pytest.mark.django_db(transaction=True),
]

PER_ADDRESS = 6  # reports per minute from one client address, for the whole site


@pytest.fixture(params=["publish-after-commit", "relay"])
def site(request, twilio_double, smtp_server, tmp_path):
    """Two gunicorn processes and two workers, started side by side; Redis emptied before and after.
    With the outbox relay on, two relays too (one per node, as they would run), sharing the outbox."""
    relay = request.param == "relay"
    broker = redis.Redis.from_url(processes.broker_url())
    broker.flushdb()
    env = processes.product_env(
        twilio=twilio_double,
        smtp=smtp_server,
        media_root=tmp_path / "media",
        RATE_LIMIT_REPORTS=f"{PER_ADDRESS}/100",
        OUTBOX_RELAY="on" if relay else "off",
    )
    log = open(tmp_path / "processes.log", "w")  # noqa: SIM115 - closed at the end
    started = []
    try:
        webs = [processes.start_web(env, log) for _ in range(2)]
        started += [process for process, _base in webs]
        started += [processes.start_worker(env, log, name=f"worker{n}") for n in (1, 2)]
        if relay:
            started += [processes.start_manage(env, log, "relay_outbox", "--idle-ms", "50") for _ in (1, 2)]
        for process, base in webs:
            processes.wait_until_serving(process, base)
        yield [base for _process, base in webs]
    finally:
        for process in started:
            processes.stop(process, signal.SIGTERM)
        log.close()
        broker.flushdb()


def report(base, n, **headers):
    body = other_json(email=f"pelapor{n}@example.com", whatsapp=f"0812{n:08d}", description=f"Laporan {n}")
    return requests.post(f"{base}/api/v1/reports/", json=body, headers=headers, timeout=20)


def fresh_rate_window(margin=10):
    """Wait for the next one-minute window if this one ends within `margin` seconds, so that all of a
    test's requests are counted in one window."""
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < margin:
        time.sleep(left + 0.1)


def test_limits_idempotency_and_the_outbox_hold_across_two_web_processes_and_two_workers(
    site, twilio_double, smtp_server
):
    one, other = site
    fresh_rate_window()

    # An Idempotency-Key retried on the other process: the first answer, one report.
    first = report(one, 1, **{"Idempotency-Key": "retry-1"})
    retried = report(other, 1, **{"Idempotency-Key": "retry-1"})
    assert first.status_code == retried.status_code == 201
    assert retried.json() == first.json()
    # The same key sent to both at once: one of them stores it, the other answers as it did.
    racing = []
    threads = [
        threading.Thread(target=lambda b=base: racing.append(report(b, 2, **{"Idempotency-Key": "race-2"})))
        for base in (one, other)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer.status_code for answer in racing] == [201, 201]
    assert racing[0].json()["reference"] == racing[1].json()["reference"]
    assert Ticket.objects.count() == IdempotencyRecord.objects.count() == 2

    # The per-address limit counts every process's requests: alternating between the two, the site
    # admits PER_ADDRESS in the minute (four were spent above), as one process would, not twice that.
    answers = [report((one, other)[n % 2], 10 + n) for n in range(8)]
    statuses = [answer.status_code for answer in answers]
    assert statuses == [201] * (PER_ADDRESS - 4) + [429] * (8 - PER_ADDRESS + 4), statuses
    assert all(int(answer.headers["Retry-After"]) > 0 for answer in answers if answer.status_code == 429)
    assert Ticket.objects.count() == PER_ADDRESS - 2  # the refused stored nothing

    # Every confirmation (WhatsApp and email, written by both web processes) delivered exactly once by
    # the two workers, even with each delivery handed to the broker a second time (a redelivered task).
    outbound = Message.objects.filter(direction=Direction.OUTBOUND)
    assert outbound.count() == 2 * Ticket.objects.count()
    client = Celery("test-client", broker=processes.broker_url(), set_as_current=False)
    for message_id in outbound.values_list("pk", flat=True):
        client.send_task("notifications.tasks.deliver_message", args=[message_id], queue="deliveries")
    client.close()
    processes.wait_for(
        lambda: not outbound.filter(status=MessageStatus.QUEUED).exists(), 30, "every message sent"
    )
    assert set(outbound.values_list("status", flat=True)) == {MessageStatus.SENT}
    bodies = Counter(sent["form"]["Body"] for sent in twilio_double.messages)
    assert len(bodies) == outbound.filter(channel="whatsapp").count() and set(bodies.values()) == {1}
    mail_ids = Counter(received.message["Message-ID"] for received in smtp_server.messages)
    assert len(mail_ids) == outbound.filter(channel="email").count() and set(mail_ids.values()) == {1}
    assert set(mail_ids) == set(outbound.filter(channel="email").values_list("provider_id", flat=True))
