"""Pytest plugin: a real Celery worker in a subprocess on the integration broker, for the tests that
SIGKILL one in the middle of its work (mark them integration and postgres: the worker must share the
test database)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url():
    """The test database as a URL for the worker process."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def provider_env(twilio, smtp):
    """The worker's settings for the Twilio and SMTP doubles (none of the caller's own providers)."""
    return dict(
        TWILIO_ACCOUNT_SID=twilio.account_sid,
        TWILIO_AUTH_TOKEN=twilio.auth_token,
        TWILIO_WHATSAPP_FROM="whatsapp:+14155238886",
        TWILIO_API_URL=twilio.url,
        EMAIL_URL=f"smtp://{smtp.host}:{smtp.port}",
    )


def start_worker(log, *, queues=None, **overrides):
    """A solo worker on `queues` (all of them by default) with the test's database and broker."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TWILIO_", "EMAIL_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        TESTING="1",
        DEBUG="",
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=os.environ["CELERY_INTEGRATION_BROKER"],
        **overrides,
    )
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-l", "WARNING"]
    command += ["-Q", ",".join(queues or settings.CELERY_QUEUE_NAMES)]
    command += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(worker, sig=signal.SIGKILL):
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
        worker.wait(10)


def wait_for(condition, timeout, what, *, every=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def broker():
    """A Celery client on the emptied integration broker that publishes where the product's tasks go."""
    import redis
    from celery import Celery

    url = os.environ["CELERY_INTEGRATION_BROKER"]
    redis.Redis.from_url(url).flushdb()
    app = Celery("test-client", broker=url, set_as_current=False)
    app.conf.task_routes = settings.CELERY_TASK_ROUTES
    app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    yield app
    app.close()
    redis.Redis.from_url(url).flushdb()
