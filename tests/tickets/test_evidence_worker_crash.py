"""A real media worker on Redis, SIGKILLed while it re-encodes a screenshot, then another: nothing lost."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection
from PIL import Image

from tests.factories import TicketFactory
from tickets.evidence import ImageInfo
from tickets.models import Evidence

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,  # the worker process must share the test database
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
CLAIM_SECONDS = 2  # production waits minutes


def _database_url():
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(log):
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        TESTING="1",
        DEBUG="",
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=os.environ["CELERY_INTEGRATION_BROKER"],
        EVIDENCE_CLAIM_SECONDS=str(CLAIM_SECONDS),
        MEDIA_ROOT=str(settings.STORAGES["default"]["OPTIONS"]["location"]),
    )
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-l", "WARNING"]
    command += ["-Q", "media", "--without-gossip", "--without-mingle", "--without-heartbeat"]
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


def _slow_screenshot():
    """Noise does not compress: a few seconds of decoding and re-encoding, time to kill the worker."""
    img = Image.frombytes("RGB", (3000, 3000), os.urandom(3000 * 3000 * 3))
    path = Path(settings.STORAGES["default"]["OPTIONS"]["location"]) / "slow.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "PNG", compress_level=1)
    return path.read_bytes()


@pytest.fixture
def broker():
    import redis

    url = os.environ["CELERY_INTEGRATION_BROKER"]
    redis.Redis.from_url(url).flushdb()
    app = Celery("test-client", broker=url, set_as_current=False)
    app.conf.task_routes = settings.CELERY_TASK_ROUTES
    yield app
    app.close()
    redis.Redis.from_url(url).flushdb()


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
        _wait_for(claimed, 60, "the worker to claim the screenshot")
        _stop(worker)  # SIGKILL mid-processing: nothing recorded
        left = Evidence.objects.get(pk=item.pk)
        assert left.state == Evidence.State.PENDING and left.file.name == raw
        assert left.file.storage.exists(raw)

        worker = _start_worker(log)
        time.sleep(CLAIM_SECONDS + 0.5)
        broker.send_task("tickets.tasks.sweep_pending_evidence")  # beat's job, every minute
        ready = lambda: Evidence.objects.get(pk=item.pk).state == Evidence.State.READY  # noqa: E731
        _wait_for(ready, 90, "the screenshot to be processed")
    finally:
        _stop(worker, signal.SIGTERM)
        log.close()

    done = Evidence.objects.get(pk=item.pk)
    assert done.attempts == 2 and len(done.sha256) == 64 and done.thumbnail
    assert done.file.storage.exists(done.file.name) and not done.file.storage.exists(raw)
