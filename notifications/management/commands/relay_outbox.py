"""Run the outbox relay (notifications/relay.py): a long-running loop, one or more per site."""

import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from notifications import relay

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Hand committed outbox messages to the delivery workers (OUTBOX_RELAY on), until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="drain what is committed now, then exit")
        parser.add_argument(
            "--idle-ms",
            type=int,
            default=settings.OUTBOX_RELAY_IDLE_MS,
            help="pause when nothing is waiting (OUTBOX_RELAY_IDLE_MS)",
        )

    def handle(self, *args, once=False, idle_ms=0, **options):
        if settings.CELERY_TASK_ALWAYS_EAGER:
            # Without a broker the deliveries would run inside the relay's transaction; the embedded
            # mode delivers after each commit instead and needs no relay.
            raise CommandError("relay_outbox needs a broker: set CELERY_BROKER_URL.")
        stopping = []
        # SIGTERM finishes the batch in hand, then exits (a deploy never cuts a batch in two).
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        relayed = 0
        while not stopping:
            try:
                count = relay.relay_batch()
            except Exception:  # noqa: BLE001 - database or broker away: the batch rolled back, try again
                log.exception("outbox relay: batch not handed over; retrying")
                close_old_connections()
                count = 0
                time.sleep(1)
            relayed += count
            if once and not count:
                break
            if not count:
                time.sleep(idle_ms / 1000)
        self.stdout.write(f"{relayed} messages handed over")
