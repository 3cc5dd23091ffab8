"""A real Celery worker on Redis, killed while Twilio holds its answer, restarted: every message once."""

import signal
import time
from collections import Counter

import pytest

from notifications.models import Direction, Message, MessageStatus
from tests import processes
from tests.factories import TicketFactory

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,  # the worker process must share the test database
    pytest.mark.django_db(transaction=True),
]

CLAIM_TIMEOUT = 3  # seconds; production waits minutes


def _worker_env(twilio, smtp, tmp_path):
    return processes.product_env(
        twilio=twilio,
        smtp=smtp,
        media_root=tmp_path / "media",
        CELERY_VISIBILITY_TIMEOUT=CLAIM_TIMEOUT,
        OUTBOX_CLAIM_TIMEOUT_SECONDS=CLAIM_TIMEOUT,
    )


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
    worker = processes.start_worker(env, log)
    try:
        for message in messages:
            broker.send_task("notifications.tasks.deliver_message", args=[message.pk])
        posts = lambda: [r for r in twilio_double.requests if r.method == "POST"]  # noqa: E731
        processes.wait_for(lambda: posts(), 30, "the worker's first Twilio request")
        processes.stop(worker)  # SIGKILL while Twilio holds its answer: nothing recorded on our side
        processes.wait_for(lambda: len(twilio_double.messages) == 1, 5, "Twilio to accept the first message")
        first = Message.objects.get(channel="whatsapp", body=posts()[0].body["Body"])
        assert first.status == MessageStatus.QUEUED and first.claimed_at is not None and not first.provider_id

        worker = processes.start_worker(env, log)
        time.sleep(CLAIM_TIMEOUT)
        broker.send_task("notifications.tasks.sweep_outbox")  # beat's job; redelivery would come too
        processes.wait_for(
            lambda: (
                not Message.objects.filter(
                    pk__in=[m.pk for m in messages], status=MessageStatus.QUEUED
                ).exists()
            ),
            45,
            "every message to be sent",
        )
    finally:
        processes.stop(worker, signal.SIGTERM)
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
