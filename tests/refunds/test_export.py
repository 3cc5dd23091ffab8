"""The finance export: CSV of remedies approved or applied in a period, payout destination masked."""

import csv
import io
from datetime import date, datetime, time

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from refunds import services
from refunds.models import Remedy
from tests.refunds.helpers import quota_proposal, refund_proposal
from tickets import services as tickets
from tickets.masking import mask, mask_nik

pytestmark = pytest.mark.django_db
URL = "/api/v1/remedies/export/"


@pytest.fixture(autouse=True)
def _paused(settings):
    settings.REMEDIES_PAUSED = True


def at(day, hour=10):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def rows(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def get(user, **params):
    client = APIClient()
    client.force_authenticate(user)
    return client.get(URL, params)


def test_finance_exports_approved_and_applied_refunds_with_masked_destination(alice, sam, fin):
    refund = refund_proposal(alice, amount=60_000)
    tickets.fire("approve", ticket=refund.ticket, actor=sam)
    services.record_application(remedy_id=refund.pk, provider_reference="po_9", gateway="http")
    quota = quota_proposal(alice, quantity=2)
    tickets.fire("approve", ticket=quota.ticket, actor=sam)
    pending = quota_proposal(alice)  # not approved: not exported
    today = timezone.localdate()

    exported = rows(get(fin, **{"from": today.isoformat(), "to": today.isoformat()}))
    by_id = {int(row["remedy_id"]): row for row in exported}
    assert set(by_id) == {refund.pk, quota.pk}
    assert pending.pk not in by_id
    row = by_id[refund.pk]
    assert row["ticket_reference"] == refund.ticket.reference
    assert (row["kind"], row["amount"], row["state"]) == ("refund", "60000", "applied")
    assert row["payout_destination"] == "BCA ******7890"
    assert "1234567890" not in b"".join(get(fin, **{"from": today, "to": today}).streaming_content).decode()
    assert (row["proposed_by"], row["approved_by"], row["provider_reference"]) == ("alice", "sam", "po_9")
    assert row["approved_at"] and row["applied_at"]
    assert by_id[quota.pk]["quantity"] == "2"


def test_period_is_inclusive_in_jakarta_days(alice, sam, fin):
    inside, before, applied_inside = (quota_proposal(alice) for _ in range(3))
    for remedy in (inside, before, applied_inside):
        tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    Remedy.objects.filter(pk=inside.pk).update(approved_at=at(date(2026, 3, 31), 23))
    Remedy.objects.filter(pk=before.pk).update(approved_at=at(date(2026, 2, 28), 23))
    Remedy.objects.filter(pk=applied_inside.pk).update(
        approved_at=at(date(2026, 2, 27)), applied_at=at(date(2026, 3, 1), 0)
    )
    exported = rows(get(fin, **{"from": "2026-03-01", "to": "2026-03-31"}))
    assert {int(row["remedy_id"]) for row in exported} == {inside.pk, applied_inside.pk}


def test_supervisors_may_export_agents_may_not(sam, alice, nobody):
    params = {"from": "2026-03-01", "to": "2026-03-02"}
    assert get(sam, **params).status_code == 200
    assert get(alice, **params).status_code == 403
    assert get(nobody, **params).status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "from"),
        ({"from": "2026-03-01"}, "to"),
        ({"from": "01/03/2026", "to": "2026-03-02"}, "from"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-01-01"}, "to"),
    ],
)
def test_bad_period_is_a_clear_400(params, field, fin):
    response = get(fin, **params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_cells_that_look_like_formulas_are_neutralised(alice, sam, fin):
    refund = refund_proposal(alice)
    tickets.fire("approve", ticket=refund.ticket, actor=sam)
    Remedy.objects.filter(pk=refund.pk).update(provider_reference="=HYPERLINK(1)")
    today = timezone.localdate().isoformat()
    (row,) = rows(get(fin, **{"from": today, "to": today}))
    assert row["provider_reference"] == "'=HYPERLINK(1)"


@pytest.mark.parametrize(
    ("value", "masked"),
    [("BCA 1234567890", "BCA ******7890"), ("081234567890", "********7890"), ("123", "123"), ("", "")],
)
def test_mask_account(value, masked):
    assert mask(value) == masked


def test_mask_nik_keeps_region_and_last_four():
    assert mask_nik("3171010101900123") == "3171********0123"


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_day_at_the_end_of_the_calendar_is_refused_not_a_crash(fin, day):
    response = get(fin, **{"from": day, "to": day})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"from", "to"}
