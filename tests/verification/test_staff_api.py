"""The staff API shows each ticket's verification and linked incidents, and filters the list by them."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import TicketFactory
from tests.incidents.conftest import declare
from tests.verification.conftest import ACCOUNT, order_ticket, serial, stamp_ticket
from tickets.models import Category
from verification import services
from verification.models import PlatformOrder, PlatformStamping
from verification.sources import ExportRecords

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.REMEDIES_PAUSED = True
    cache.clear()


def api(user):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(user)
    return client


def detail(user, ticket):
    response = api(user).get(f"/api/v1/tickets/{ticket.reference}/")
    assert response.status_code == 200, response.content
    return response.json()


def listed(user, **params):
    response = api(user).get("/api/v1/tickets/", params)
    assert response.status_code == 200, response.content
    return {row["reference"] for row in response.json()["results"]}


def stamping(n, status="refund", account=ACCOUNT, **fields):
    return PlatformStamping.objects.create(serial_number=serial(n), account=account, status=status, **fields)


def verified(ticket):
    services.verify_ticket(ticket_id=ticket.pk, source=ExportRecords())
    ticket.refresh_from_db()
    return ticket


def test_a_confirmed_report_shows_the_outcome_the_record_and_its_incident(alice, sam):
    stamping(1, document_name="SK CPNS.pdf")
    ticket = verified(stamp_ticket(serial(1), attempted_at=timezone.now() - timedelta(minutes=30)))
    incident = declare(sam, title="Gangguan CASN")

    body = detail(alice, ticket)
    verification = body["verification"]
    assert (verification["outcome"], verification["reason"]) == ("confirmed", "stampings_failed")
    assert verification["outcome_label"] == "Confirmed"
    assert (verification["duplicate"], verification["duplicate_of"]) == (False, None)
    assert verification["checked_at"]
    (record,) = verification["record"]["stampings"]
    assert record == {
        "serial_number": serial(1),
        "found": True,
        "status": "refund",
        "account": ACCOUNT,
        "attempted_at": None,
        "document_name": "SK CPNS.pdf",
        "quota_restored": False,
    }
    assert verification["record"]["order"] is None
    assert body["verification_outcome"] == "confirmed"
    assert [(i["id"], i["title"], i["is_open"]) for i in body["incidents"]] == [
        (incident.pk, "Gangguan CASN", True)
    ]


def test_a_contradicted_order_shows_the_orders_record_and_the_reason(alice):
    PlatformOrder.objects.create(
        order_id="ORD-9", account=ACCOUNT, amount=50_000, status="expired", quantity=5, quota_credited=0
    )
    verification = detail(alice, verified(order_ticket("ORD-9")))["verification"]
    assert (verification["outcome"], verification["reason"]) == ("contradicted", "order_expired")
    assert verification["reason_label"] == "The order expired"
    order = verification["record"]["order"]
    assert (order["order_id"], order["found"], order["status"], order["amount"]) == (
        "ORD-9",
        True,
        "expired",
        50_000,
    )
    assert verification["record"]["stampings"] == []


def test_a_missing_record_is_unknown_and_says_not_found(alice):
    stamping(1)
    ticket = verified(stamp_ticket(serial(1), serial(2)))
    verification = detail(alice, ticket)["verification"]
    assert (verification["outcome"], verification["reason"]) == ("unknown", "no_record")
    assert [(r["serial_number"], r["found"], r["status"]) for r in verification["record"]["stampings"]] == [
        (serial(1), True, "refund"),
        (serial(2), False, None),
    ]


def test_an_order_with_no_record_names_the_claimed_order(alice):
    verification = detail(alice, verified(order_ticket("ORD-404")))["verification"]
    assert verification["record"]["order"]["order_id"] == "ORD-404"
    assert verification["record"]["order"]["found"] is False


def test_the_same_serial_number_on_a_second_ticket_is_flagged_with_the_first(alice):
    stamping(1)
    first = verified(stamp_ticket(serial(1)))
    second = verified(stamp_ticket(serial(1)))
    verification = detail(alice, second)["verification"]
    assert (verification["duplicate"], verification["duplicate_of"]) == (True, first.reference)


def test_a_report_waiting_for_the_platform_is_pending(alice):
    ticket = stamp_ticket(serial(1))
    services.start(ticket=ticket)
    verification = detail(alice, ticket)["verification"]
    assert (verification["outcome"], verification["reason"], verification["checked_at"]) == (
        "pending",
        "",
        None,
    )
    assert verification["record"] == {"stampings": [], "order": None}


def test_a_report_with_nothing_to_verify_has_no_verification(alice):
    ticket = TicketFactory(category=Category.OTHER, quota_lost=None)
    body = detail(alice, ticket)
    assert (body["verification"], body["verification_outcome"], body["incidents"]) == (None, None, [])


def test_the_list_filters_by_outcome_and_by_incident(alice, sam):
    stamping(1)
    stamping(2, status="success")
    recent = timezone.now() - timedelta(minutes=30)
    confirmed = verified(stamp_ticket(serial(1), attempted_at=recent))
    contradicted = verified(stamp_ticket(serial(2), attempted_at=timezone.now() - timedelta(hours=6)))
    unknown = verified(stamp_ticket(serial(3), attempted_at=recent))
    TicketFactory(category=Category.OTHER, quota_lost=None)
    incident = declare(sam, hours_ago=2)

    assert listed(alice, verification="confirmed") == {confirmed.reference}
    assert listed(alice, verification="contradicted") == {contradicted.reference}
    assert listed(alice, incident=incident.pk) == {confirmed.reference, unknown.reference}
    assert listed(alice, incident=incident.pk, verification="unknown") == {unknown.reference}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"verification": "maybe"}, "verification"),
        ({"incident": "abc"}, "incident"),
        ({"incident": "999999"}, "incident"),
        ({"incident": str(2**64)}, "incident"),
        ({"incident": "-1"}, "incident"),
    ],
)
def test_a_bad_filter_is_a_400_in_the_error_envelope(alice, params, field):
    response = api(alice).get("/api/v1/tickets/", params)
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "errors"} and list(body["errors"]) == [field]


def test_the_schema_documents_verification_incidents_and_the_filters(client, alice):
    client.force_login(alice)
    schema = client.get("/api/schema/?format=json").json()
    list_params = {p["name"]: p for p in schema["paths"]["/api/v1/tickets/"]["get"]["parameters"]}
    assert set(list_params["verification"]["schema"]["enum"]) == {
        "pending",
        "confirmed",
        "contradicted",
        "unknown",
    }
    assert list_params["incident"]["schema"]["type"] == "integer"
    detail_schema = schema["components"]["schemas"]["TicketDetail"]["properties"]
    assert {"verification", "incidents", "verification_outcome"} <= set(detail_schema)
    record = schema["components"]["schemas"]["PlatformRecord"]["properties"]
    assert set(record) == {"stampings", "order"}
