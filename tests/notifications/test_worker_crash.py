"""A real Celery worker on Redis, killed while Twilio holds its answer, restarted: every message once."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from notifications.models import Direction, Message, MessageStatus
from tests.factories import TicketFactory

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,  # the worker process must share the test database
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
CLAIM_TIMEOUT = 3  # seconds; production waits minutes


def _database_url():
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _worker_env(twilio, smtp, tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TWILIO_", "EMAIL_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        TESTING="1",
        DEBUG="",
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=os.environ["CELERY_INTEGRATION_BROKER"],
        CELERY_VISIBILITY_TIMEOUT=str(CLAIM_TIMEOUT),
        OUTBOX_CLAIM_TIMEOUT_SECONDS=str(CLAIM_TIMEOUT),
        TWILIO_ACCOUNT_SID=twilio.account_sid,
        TWILIO_AUTH_TOKEN=twilio.auth_token,
        TWILIO_WHATSAPP_FROM="whatsapp:+14155238886",
        TWILIO_API_URL=twilio.url,
        EMAIL_URL=f"smtp://{smtp.host}:{smtp.port}",
        MEDIA_ROOT=str(tmp_path / "media"),
    )
    return env


def _start_worker(env, log):
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-l", "WARNING"]
    command += ["-Q", ",".join(settings.CELERY_QUEUE_NAMES)]  # every queue, as one worker
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
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
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def broker():
    import redis

    url = os.environ["CELERY_INTEGRATION_BROKER"]
    redis.Redis.from_url(url).flushdb()
    app = Celery("test-client", broker=url, set_as_current=False)
    app.conf.task_routes = settings.CELERY_TASK_ROUTES  # publish where the product's tasks go
    yield app
    app.close()
    redis.Redis.from_url(url).flushdb()


def test_worker_killed_mid_delivery_every_message_sent_exactly_once(
    twilio_double, smtp_server, broker, tmp_path
):
    messages = []
    for index in range(3):
        ticket = TicketFactory()
        for channel in ("whatsapp", "email"):
            messages.append(
                Message.objects.create(
                    ticket=ticket,
                    direction=Direction.OUTBOUND,
                    channel=channel,
                    subject=f"[{ticket.reference}] e-Meterai report",
                    body=f"Pesan {index} untuk {ticket.reference}",
                    to_address=ticket.whatsapp if channel == "whatsapp" else ticket.email,
                )
            )
    twilio_double.timeout_next(1.5)  # Twilio accepts the first message, but only after the worker died
    env = _worker_env(twilio_double, smtp_server, tmp_path)
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed at the end
    worker = _start_worker(env, log)
    try:
        for message in messages:
            broker.send_task("notifications.tasks.deliver_message", args=[message.pk])
        posts = lambda: [r for r in twilio_double.requests if r.method == "POST"]  # noqa: E731
        _wait_for(lambda: posts(), 30, "the worker's first Twilio request")
        _stop(worker)  # SIGKILL while Twilio holds its answer: nothing recorded on our side
        _wait_for(lambda: len(twilio_double.messages) == 1, 5, "Twilio to accept the first message")
        first = Message.objects.get(channel="whatsapp", body=posts()[0].body["Body"])
        assert first.status == MessageStatus.QUEUED and first.claimed_at is not None and not first.provider_id

        worker = _start_worker(env, log)
        time.sleep(CLAIM_TIMEOUT)
        broker.send_task("notifications.tasks.sweep_outbox")  # beat's job; redelivery would come too
        _wait_for(
            lambda: (
                not Message.objects.filter(
                    pk__in=[m.pk for m in messages], status=MessageStatus.QUEUED
                ).exists()
            ),
            45,
            "every message to be sent",
        )
    finally:
        _stop(worker, signal.SIGTERM)
        log.close()

    delivered = Message.objects.filter(pk__in=[m.pk for m in messages])
    assert {m.status for m in delivered} == {MessageStatus.SENT}
    whatsapp_bodies = Counter(m["form"]["Body"] for m in twilio_double.messages)
    assert sorted(whatsapp_bodies.values()) == [1, 1, 1]  # the crashed one was found, not sent again
    sids = {m["sid"] for m in twilio_double.messages}
    assert {m.provider_id for m in delivered if m.channel == "whatsapp"} == sids
    mail_ids = Counter(received.message["Message-ID"] for received in smtp_server.messages)
    assert sorted(mail_ids.values()) == [1, 1, 1]
    assert {m.provider_id for m in delivered if m.channel == "email"} == set(mail_ids)
