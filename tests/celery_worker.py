"""Pytest plugin: `broker`, a Celery client on the emptied integration broker that publishes where the
product's tasks go, for the tests that run real workers (tests/processes.py) and SIGKILL them."""

import pytest
from django.conf import settings

from tests import processes


@pytest.fixture
def broker():
    import redis
    from celery import Celery

    url = processes.broker_url()
    redis.Redis.from_url(url).flushdb()
    app = Celery("test-client", broker=url, set_as_current=False)
    app.conf.task_routes = settings.CELERY_TASK_ROUTES
    app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE
    yield app
    app.close()
    redis.Redis.from_url(url).flushdb()
