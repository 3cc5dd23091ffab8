"""Helpers for the conversation tests: real images, signed Twilio webhooks, .eml fixtures."""

import contextlib
import io
from pathlib import Path

import pytest
from django.conf import settings
from kombu import pools
from PIL import Image

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = "EMT-7K3M9QX"
OUTBOUND_MESSAGE_ID = "<170000000001.4242.1@emeterai.test>"


def png_bytes(size=(64, 48), color="navy"):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def eml(name):
    return (FIXTURES / name).read_bytes()


def post_twilio(client, double, path, form, *, signature=None):
    """POST `form` to our webhook as Twilio does, signed for PUBLIC_BASE_URL + path (or `signature`)."""
    if signature is None:
        signature = double.sign(settings.PUBLIC_BASE_URL + path, form)
    return client.post(path, data=form, HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run on_commit callbacks (the delivery and media tasks, eager) as a real commit would."""

    def run(function, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return function(*args, **kwargs)

    return run


@pytest.fixture
def broker_at():
    """A context manager: inside it Celery publishes to `url` instead of running tasks eagerly:
    `redis://127.0.0.1:9/0` (nobody listens: a publish fails at once) or `memory://` (no worker takes them).
    """
    from config.celery import app

    def reset():
        pools.reset()
        app._pool = app.amqp._producer_pool = None

    @contextlib.contextmanager
    def elsewhere(url):
        saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager", "task_publish_retry")}
        app.conf.update(broker_url=url, task_always_eager=False, task_publish_retry=False)
        reset()
        try:
            yield
        finally:
            app.conf.update(saved)
            reset()

    return elsewhere


UNREACHABLE_BROKER = "redis://127.0.0.1:9/0"
