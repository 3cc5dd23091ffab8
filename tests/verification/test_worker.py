"""End to end with a real Celery worker consuming only the `verification` queue (Redis)."""

import pytest

from tests.refunds.test_worker import wait_for, worker_on_redis
from tests.verification.conftest import ACCOUNT, serial
from tests.verification.test_intake import report
from tickets.models import State, Ticket
from verification.models import Outcome, Verification

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


@pytest.fixture
def verification_worker(settings):
    """As production's `celery worker -Q verification`."""
    with worker_on_redis(settings, queues=["verification"]) as worker_app:
        yield worker_app


def test_a_worker_on_the_verification_queue_confirms_a_report_after_intake(verification_worker, platform):
    platform.add_stamping(serial(1), ACCOUNT)
    ticket = report([serial(1)])
    assert wait_for(lambda: Verification.objects.get(ticket=ticket).outcome == Outcome.CONFIRMED)
    assert wait_for(lambda: Ticket.objects.get(pk=ticket.pk).state == State.AWAITING_APPROVAL)
