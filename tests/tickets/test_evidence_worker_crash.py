"""A real media worker on Redis, SIGKILLed while it re-encodes a screenshot, then another: nothing lost."""

import os
import signal
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from PIL import Image

from tests import processes
from tests.factories import TicketFactory
from tickets.evidence import ImageInfo
from tickets.models import Evidence

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,  # the worker process must share the test database
    pytest.mark.django_db(transaction=True),
]

CLAIM_SECONDS = 2  # production waits minutes


def _start_worker(log):
    env = processes.product_env(
        media_root=settings.STORAGES["default"]["OPTIONS"]["location"],
        EVIDENCE_CLAIM_SECONDS=CLAIM_SECONDS,
        EVIDENCE_LIBVIPS="off",  # Pillow's seconds on the noise image leave time to kill the worker
    )
    return processes.start_worker(env, log, queues=["media"])


def _slow_screenshot():
    """Noise does not compress: a few seconds of decoding and re-encoding, time to kill the worker."""
    img = Image.frombytes("RGB", (3000, 3000), os.urandom(3000 * 3000 * 3))
    path = Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / "slow.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "PNG", compress_level=1)
    return path.read_bytes()


def test_worker_killed_mid_processing_loses_nothing(broker, tmp_path):
    data = _slow_screenshot()
    info = ImageInfo("PNG", 3000, 3000, len(data), "image/png")
    item = Evidence(ticket=TicketFactory(), original_name="slow.png", state=Evidence.State.PENDING)
    item.content_type, item.width, item.height, item.size_bytes = info.content_type, 3000, 3000, len(data)
    item.file.save("slow-pending.png", ContentFile(data), save=True)  # as the request stores it
    raw = item.file.name

    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed at the end
    worker = _start_worker(log)
    try:
        broker.send_task("tickets.tasks.process_evidence", args=[item.pk])
        claimed = lambda: Evidence.objects.get(pk=item.pk).claimed_at is not None  # noqa: E731
        processes.wait_for(claimed, 60, "the worker to claim the screenshot")
        processes.stop(worker)  # SIGKILL mid-processing: nothing recorded
        left = Evidence.objects.get(pk=item.pk)
        assert left.state == Evidence.State.PENDING and left.file.name == raw
        assert left.file.storage.exists(raw)

        worker = _start_worker(log)
        time.sleep(CLAIM_SECONDS + 0.5)
        broker.send_task("tickets.tasks.sweep_pending_evidence")  # beat's job, every minute
        ready = lambda: Evidence.objects.get(pk=item.pk).state == Evidence.State.READY  # noqa: E731
        processes.wait_for(ready, 90, "the screenshot to be processed")
    finally:
        processes.stop(worker, signal.SIGTERM)
        log.close()

    done = Evidence.objects.get(pk=item.pk)
    assert done.attempts == 2 and len(done.sha256) == 64 and done.thumbnail
    assert done.file.storage.exists(done.file.name) and not done.file.storage.exists(raw)
