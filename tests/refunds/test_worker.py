"""End to end with a real Celery worker on Redis: approval -> the worker applies through the HTTP gateway."""

import os
import time
from contextlib import contextmanager

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connections
from kombu import pools
from rest_framework.test import APIClient

from config.celery import app
from notifications.tasks import deliver_message
from refunds.models import LedgerEntry, Remedy, RemedyState
from tests.refunds.helpers import quota_proposal
from tickets.models import State

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def _close_worker_connections(**kwargs):
    connections.close_all()  # the worker thread's own connections, so the test database can be dropped


def _reset_pools():
    """Forget the connections and producers made for the previous broker."""
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def worker_on_redis(settings, **worker_options):
    """The Celery app on CELERY_INTEGRATION_BROKER, eager mode off, with a worker thread consuming
    every queue (or only `queues=[...]`)."""
    saved = {key: app.conf[key] for key in ("broker_url", "task_always_eager")}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(broker_url=os.environ["CELERY_INTEGRATION_BROKER"], task_always_eager=False)
    _reset_pools()
    app.control.purge()
    task_postrun.connect(_close_worker_connections, weak=False)
    try:
        with start_worker(
            app, perform_ping_check=False, loglevel="WARNING", shutdown_timeout=30, **worker_options
        ):
            yield app
    finally:
        app.amqp.queues.select(settings.CELERY_QUEUE_NAMES)  # undo a worker's -Q for the next one
        app.control.purge()
        task_postrun.disconnect(_close_worker_connections)
        app.conf.update(saved)
        _reset_pools()


@pytest.fixture
def redis_worker(settings):
    with worker_on_redis(settings) as worker_app:
        yield worker_app


@pytest.fixture
def remedies_worker(settings):
    """A worker that consumes the remedies queue only, as production's `celery worker -Q remedies`."""
    with worker_on_redis(settings, queues=["remedies"]) as worker_app:
        yield worker_app


def wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def approve(user, remedy):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(f"/api/v1/tickets/{remedy.ticket.reference}/transitions/approve/", {}, format="json")


def test_worker_applies_an_approved_remedy_through_the_platform(redis_worker, alice, sam, platform_double):
    remedy = quota_proposal(alice, quantity=3)
    response = approve(sam, remedy)
    assert response.status_code == 200
    assert response.json()["state"] == State.APPROVED  # applied later, by the worker
    assert wait_for(lambda: Remedy.objects.get(pk=remedy.pk).state == RemedyState.APPLIED)
    remedy.refresh_from_db()
    remedy.ticket.refresh_from_db()
    assert remedy.ticket.state == State.RESOLVED
    entry = LedgerEntry.objects.get(remedy=remedy)
    assert (entry.quantity, entry.gateway, entry.provider_reference) == (
        3,
        "http",
        platform_double.applied[0]["id"],
    )
    assert platform_double.applications[str(remedy.idempotency_key)] == 1


def test_worker_retries_a_503_with_backoff_and_applies_once(redis_worker, alice, sam, platform_double):
    platform_double.fail_next(503)
    remedy = quota_proposal(alice)
    assert approve(sam, remedy).status_code == 200
    assert wait_for(lambda: Remedy.objects.get(pk=remedy.pk).state == RemedyState.APPLIED)
    assert [r.headers["Idempotency-Key"] for r in platform_double.requests] == [
        str(remedy.idempotency_key)
    ] * 2
    assert platform_double.applications[str(remedy.idempotency_key)] == 1
    assert LedgerEntry.objects.filter(remedy=remedy).count() == 1


def test_a_remedy_is_applied_while_deliveries_queue_up_in_their_own_queue(
    remedies_worker, alice, sam, platform_double
):
    for message_id in range(900_000, 900_200):  # a backlog of deliveries, which no worker here consumes
        deliver_message.delay(message_id)
    remedy = quota_proposal(alice)
    assert approve(sam, remedy).status_code == 200
    assert wait_for(lambda: Remedy.objects.get(pk=remedy.pk).state == RemedyState.APPLIED, timeout=15)
    waiting = redis.Redis.from_url(os.environ["CELERY_INTEGRATION_BROKER"]).llen("deliveries")
    assert waiting >= 200  # the backlog, and the applicant's notifications behind it
