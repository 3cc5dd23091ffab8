"""Verification starts by itself after intake, on the `verification` queue, and never blocks intake."""

import pytest

from tests.verification.conftest import ACCOUNT, serial
from tickets import services as tickets
from tickets.models import Category, State, Ticket
from verification.models import Outcome, Reason, Verification

pytestmark = pytest.mark.django_db


def report(serials, **fields):
    data = dict(
        category=Category.STAMP_FAILED,
        full_name="Siti Aminah",
        nik="3171010101900001",
        email=ACCOUNT,
        whatsapp="+6281234567890",
        quota_lost=len(serials),
        language="id",
        **fields,
    )
    return tickets.submit_report(data=data, serial_numbers=serials)


def test_a_report_is_verified_by_a_worker_after_intake(platform, django_capture_on_commit_callbacks):
    platform.add_stamping(serial(1), ACCOUNT)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = report([serial(1)])
    ticket.refresh_from_db()
    assert ticket.verification.outcome == Outcome.CONFIRMED
    assert ticket.state == State.AWAITING_APPROVAL


def test_intake_stores_a_pending_verification_before_any_worker_ran(platform):
    ticket = report([serial(1)])  # the transaction of the test never commits: no worker ran
    assert (ticket.verification.outcome, ticket.verification.next_attempt_at is not None) == (
        Outcome.PENDING,
        True,
    )
    assert platform.requests == []


def test_an_unreachable_platform_never_blocks_intake(settings, django_capture_on_commit_callbacks):
    settings.QUOTA_GATEWAY = "http"
    settings.QUOTA_PLATFORM_URL = "http://127.0.0.1:9"  # nothing listens there
    settings.GATEWAY_TIMEOUT_SECONDS = 0.5
    with django_capture_on_commit_callbacks(execute=True):
        ticket = report([serial(1)])
    assert Ticket.objects.filter(pk=ticket.pk, state=State.REPORTED).exists()
    verification = Verification.objects.get(ticket=ticket)
    assert (verification.outcome, verification.reason) == (Outcome.UNKNOWN, Reason.PLATFORM_UNAVAILABLE)


def test_a_report_without_serial_numbers_or_order_is_not_verified(platform):
    ticket = tickets.submit_report(
        data=dict(category=Category.OTHER, full_name="Budi", email="budi@example.com", language="id")
    )
    assert not Verification.objects.filter(ticket=ticket).exists()


@pytest.mark.parametrize("task", ["verify_ticket", "verify_tickets", "verify_due"])
def test_verification_tasks_run_on_the_verification_queue(task):
    from config.celery import app
    from verification import tasks

    name = getattr(tasks, task).name
    assert name == f"verification.tasks.{task}"
    assert app.amqp.router.route({}, name)["queue"].name == "verification"
