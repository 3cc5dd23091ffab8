"""Conversations at surge scale: inbound WhatsApp webhooks, and the outbox delivered by a real worker.

A PostgreSQL database of its own (created and dropped here), a Redis broker, a `celery worker`
subprocess, the Twilio double and an aiosmtpd server on loopback. Measures (1) signed inbound WhatsApp
webhooks through Django (half from unknown numbers, each opening a ticket), and (2) the time for the
worker to deliver every queued notification over real HTTP and SMTP; then checks each was sent once.

    .venv/bin/python benchmarks/bench_conversations.py [--count 1000] [--inbound 500] [--concurrency 4]

Environment: BENCH_POSTGRES (default postgres://postgres@127.0.0.1:5432), BENCH_REDIS_URL
(default redis://127.0.0.1:6379/5).
"""

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.common import (  # noqa: E402
    cpu_summary,
    drop_database,
    migrate,
    recreate_database,
    start_celery_worker,
    write_section,
)

SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DB_NAME = "emeterai_bench_conversations"
BROKER = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main():  # noqa: PLR0915 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--count", type=int, default=1000, help="tickets notified (one WhatsApp + one email each)"
    )
    parser.add_argument("--inbound", type=int, default=500, help="inbound WhatsApp webhooks")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument(
        "--no-write", action="store_true", help="print the figures without updating RESULTS.md"
    )
    args = parser.parse_args()

    from tests.doubles.smtp import SMTPDouble
    from tests.doubles.twilio import WHATSAPP_FROM, TwilioDouble

    twilio, smtp = TwilioDouble().start(), SMTPDouble().start()
    recreate_database(SERVER, DB_NAME)
    env = {
        **os.environ,
        "DATABASE_URL": f"{SERVER}/{DB_NAME}",
        "CELERY_BROKER_URL": BROKER,
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
        "TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
        "TWILIO_API_URL": twilio.url,
        "EMAIL_URL": f"smtp://{smtp.host}:{smtp.port}",
    }
    migrate(env)
    os.environ.update(env)

    import django

    django.setup()
    from celery import current_app
    from django.conf import settings
    from django.db import transaction
    from django.test import Client

    from notifications import services
    from notifications.models import Direction, Message, MessageStatus
    from tickets.models import Ticket

    current_app.control.purge()

    # 1. inbound webhooks, answered by Django; half open tickets, half join them
    client = Client(SERVER_NAME="127.0.0.1")
    path = "/webhooks/twilio/whatsapp/"
    latencies = []
    for index in range(args.inbound):
        number = f"whatsapp:+62813{index // 2:08d}"
        form = twilio.inbound_form(f"Pesan {index}", from_=number)
        signature = twilio.sign(settings.PUBLIC_BASE_URL + path, form)
        started = time.perf_counter()
        answer = client.post(path, data=form, HTTP_X_TWILIO_SIGNATURE=signature)
        latencies.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.content[:300]
    opened = Ticket.objects.count()
    inbound = Message.objects.filter(direction=Direction.INBOUND).count()

    # 2. the outbox: one notification per ticket on both channels, delivered by a real worker
    tickets = Ticket.objects.bulk_create(
        Ticket(
            category="stamp_failed",
            full_name=f"Pelapor {index}",
            email=f"pelapor{index}@example.com",
            whatsapp=f"+62812{index:08d}",
            quota_lost=2,
        )
        for index in range(args.count)
    )
    with transaction.atomic():
        for ticket in tickets:
            services.notify(ticket=ticket, event="closed")
    queued = list(Message.objects.filter(ticket__in=tickets).values_list("pk", flat=True))
    started = time.perf_counter()
    worker = start_celery_worker(env, args.concurrency)
    try:
        deadline = time.monotonic() + args.timeout
        every = len(queued) + opened  # the confirmations of the tickets opened by webhooks too
        sent = 0
        while time.monotonic() < deadline:
            sent = Message.objects.filter(direction=Direction.OUTBOUND, status=MessageStatus.SENT).count()
            if sent >= every:
                break
            time.sleep(0.2)
        delivered_after = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(30)

    bodies = Counter((m["to"], m["form"].get("Body")) for m in twilio.messages)
    mail_ids = Counter(received.message["Message-ID"] for received in smtp.messages)
    once = set(bodies.values()) == {1} and set(mail_ids.values()) == {1}
    twilio.stop()
    smtp.stop()
    from django.db import connections

    connections.close_all()
    drop_database(SERVER, DB_NAME)

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    figures = [
        f"- {args.inbound} signed inbound WhatsApp webhooks ({opened} opening a ticket, {inbound} stored): "
        f"median **{statistics.median(latencies):.0f} ms**, p95 {percentile(latencies, 0.95):.0f} ms, "
        f"max {max(latencies):.0f} ms per request",
        f"- {len(queued) + opened} outbox messages ({len(twilio.messages)} WhatsApp to the Twilio double, "
        f"{len(smtp.messages)} emails over SMTP) delivered by the worker in **{delivered_after:.1f} s** "
        f"({(len(queued) + opened) / delivered_after:.0f} messages/s, worker start-up included)",
        f"- checks: {sent} sent, each WhatsApp body and each Message-ID once: {'yes' if once else 'NO'}",
    ]
    section = "\n".join(
        [
            "## Conversations: inbound webhooks and outbox delivery (issue 5, `benchmarks/bench_conversations.py`)",
            "",
            f"`.venv/bin/python benchmarks/bench_conversations.py --count {args.count} --inbound {args.inbound} "
            f"--concurrency {args.concurrency}` on {datetime.date.today().isoformat()}; {cpu_summary()}, Python {platform.python_version()}; "
            f"load average at the end {load} (the machine is shared with other test runs).",
            f"PostgreSQL database of its own, Redis broker, `celery worker -P prefork -c {args.concurrency}`, "
            "the Twilio double and aiosmtpd on loopback (real HTTP and SMTP); webhooks through Django's test "
            "client (no network), each confirmation queued to the broker.",
            "",
            *figures,
        ]
    )
    print(section)
    if not args.no_write:
        write_section("bench_conversations", section)
    if not (once and sent >= len(queued) + opened):
        sys.exit("not every message was sent exactly once")


if __name__ == "__main__":
    main()
