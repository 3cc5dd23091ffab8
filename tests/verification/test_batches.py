"""Many tickets verified by one task (an import's, the sweep's): the platform asked once per serial
number over real HTTP, the loaded exports read in one query, each outcome stored as for one ticket."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from refunds.models import Remedy
from tests.verification.conftest import ACCOUNT, serial, stamp_ticket
from verification import services
from verification.models import Outcome, PlatformStamping, Reason

pytestmark = pytest.mark.django_db


def outcomes(results):
    return {ticket_id: (found.outcome, found.reason) for ticket_id, found in results.items()}


def test_a_batch_asks_the_api_once_per_serial_number_and_the_exports_in_one_query(platform):
    platform.add_stamping(serial(1), ACCOUNT)
    platform.add_stamping(serial(2), ACCOUNT)
    platform.add_stamping(serial(4), ACCOUNT, status="success")
    PlatformStamping.objects.create(serial_number=serial(3), account=ACCOUNT, status="refund")
    both = stamp_ticket(serial(1), serial(2))
    exported = stamp_ticket(serial(3))
    unknown = stamp_ticket(serial(5))
    succeeded = stamp_ticket(serial(4))

    with CaptureQueriesContext(connection) as queries:
        results = services.verify_tickets(ticket_ids=[both.pk, exported.pk, unknown.pk, succeeded.pk])

    assert outcomes(results) == {
        both.pk: (Outcome.CONFIRMED, Reason.STAMPINGS_FAILED),
        exported.pk: (Outcome.CONFIRMED, Reason.STAMPINGS_FAILED),
        unknown.pk: (Outcome.UNKNOWN, Reason.NO_RECORD),
        succeeded.pk: (Outcome.CONTRADICTED, Reason.STAMPING_SUCCEEDED),
    }
    assert sorted(request.path for request in platform.requests) == [
        f"/v1/stampings/{serial(n)}" for n in range(1, 6)
    ]
    export_reads = [q for q in queries.captured_queries if 'FROM "verification_platformstamping"' in q["sql"]]
    assert len(export_reads) == 1
    assert Remedy.objects.filter(ticket__in=[both, exported]).count() == 2


def test_a_platform_down_for_the_batch_leaves_it_unknown_and_the_next_run_settles_it(platform):
    platform.add_stamping(serial(1), ACCOUNT)
    platform.add_stamping(serial(2), ACCOUNT)
    first, second = stamp_ticket(serial(1)), stamp_ticket(serial(2))
    platform.fail_next(503, 503)

    results = services.verify_tickets(ticket_ids=[first.pk, second.pk])
    assert set(outcomes(results).values()) == {(Outcome.UNKNOWN, Reason.PLATFORM_UNAVAILABLE)}
    assert all(found.next_attempt_at is not None for found in results.values())

    results = services.verify_tickets(ticket_ids=[first.pk, second.pk])
    assert set(outcomes(results).values()) == {(Outcome.CONFIRMED, Reason.STAMPINGS_FAILED)}
    assert Remedy.objects.filter(ticket__in=[first, second]).count() == 2


def test_running_a_batch_again_changes_nothing(platform):
    platform.add_stamping(serial(1), ACCOUNT)
    ticket = stamp_ticket(serial(1))
    services.verify_tickets(ticket_ids=[ticket.pk])
    requests = len(platform.requests)
    (again,) = services.verify_tickets(ticket_ids=[ticket.pk]).values()
    assert again.outcome == Outcome.CONFIRMED
    assert len(platform.requests) == requests
    assert Remedy.objects.filter(ticket=ticket).count() == 1


def test_an_import_schedules_its_tickets_in_batches(platform, settings, tmp_path):
    from verification.imports import import_records

    settings.VERIFICATION_BATCH = 2
    tickets = [stamp_ticket(serial(n)) for n in range(1, 6)]
    for ticket in tickets:
        services.start(ticket=ticket)
    path = tmp_path / "stampings.csv"
    path.write_text(
        "serial_number,account,status,attempted_at,document_name,quota_restored\n"
        + "".join(f"{serial(n)},{ACCOUNT},refund,,doc.pdf,false\n" for n in range(1, 6))
    )
    with path.open("rb") as handle:
        result = import_records(handle)  # eager: the batches of 2, 2 and 1 are verified inline
    assert result.reverified == 5
    assert Remedy.objects.filter(ticket__in=tickets).count() == 5
