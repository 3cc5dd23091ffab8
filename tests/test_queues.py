"""Celery routes each kind of work to its own queue; a worker started without -Q consumes them all."""

import pytest

from config.celery import app


def queue_of(task_name):
    return app.amqp.router.route({}, task_name)["queue"].name


@pytest.mark.parametrize(
    ("task_name", "queue"),
    [
        ("refunds.tasks.apply_remedy", "remedies"),
        ("refunds.tasks.sweep_remedies", "remedies"),
        ("notifications.tasks.deliver_message", "deliveries"),
        ("notifications.tasks.deliver_messages", "deliveries"),
        ("notifications.tasks.sweep_outbox", "deliveries"),
        ("notifications.tasks.fetch_inbound_media", "media"),
        ("tickets.tasks.verify_report", "verification"),
        ("tickets.tasks.run_workflow_timers", "default"),
        ("refunds.tasks.reconcile_yesterday", "default"),
    ],
)
def test_each_kind_of_task_has_its_own_queue(task_name, queue):
    assert queue_of(task_name) == queue


def test_a_worker_without_queue_options_consumes_every_routed_queue(settings):
    declared = set(app.amqp.queues)
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= declared == set(settings.CELERY_QUEUE_NAMES)
