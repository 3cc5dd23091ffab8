"""Four eyes and bulk approval: in the service, the staff API and the bulk endpoint, each item on its own."""

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from refunds.models import LedgerEntry, Remedy, RemedyState
from refunds.services import approve_remedies
from tests.refunds.helpers import quota_proposal
from tickets import services as tickets
from tickets.exceptions import TransitionForbidden
from tickets.models import State

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_supervisor_cannot_approve_own_proposal_in_the_service(sam):
    remedy = quota_proposal(sam)
    with translation.override("en"), pytest.raises(TransitionForbidden, match="proposed yourself"):
        tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.PROPOSED


def test_supervisor_cannot_approve_own_proposal_in_the_api(sam):
    remedy = quota_proposal(sam)
    response = api(sam).post(
        f"/api/v1/tickets/{remedy.ticket.reference}/transitions/approve/", {}, format="json"
    )
    assert response.status_code == 403
    assert "proposed yourself" in response.json()["detail"]
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.PROPOSED


def test_supervisor_cannot_approve_own_proposal_in_bulk(sam, sue, alice):
    own, other = quota_proposal(sam), quota_proposal(alice)
    response = api(sam).post("/api/v1/remedies/approve/", {"ids": [own.pk, other.pk]}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(item["id"], item["ok"]) for item in results] == [(own.pk, False), (other.pk, True)]
    assert results[0]["error"] and results[1]["error"] is None
    own.refresh_from_db()
    other.refresh_from_db()
    assert own.state == RemedyState.PROPOSED
    assert other.state == RemedyState.APPROVED
    assert other.approved_by == sam


def test_available_transitions_hide_approve_from_the_proposer(sam, sue):
    remedy = quota_proposal(sam)
    assert "approve" not in tickets.available_transitions(remedy.ticket, sam)
    assert "approve" in tickets.available_transitions(remedy.ticket, sue)


def test_bulk_approval_judges_each_item_on_its_own(sam, alice, bob, django_capture_on_commit_callbacks):
    ok = quota_proposal(alice)
    already = quota_proposal(bob)
    tickets.fire("approve", ticket=already.ticket, actor=sam)
    withdrawn = quota_proposal(alice)
    tickets.fire("send_back", ticket=withdrawn.ticket, actor=sam, reason="Jumlah salah.")
    with django_capture_on_commit_callbacks(execute=True):
        results = approve_remedies(ids=[ok.pk, already.pk, withdrawn.pk, 999_999, ok.pk], actor=sam)
    assert [(r.id, r.ok, r.status) for r in results] == [
        (ok.pk, True, 200),
        (already.pk, False, 409),
        (withdrawn.pk, False, 409),
        (999_999, False, 404),
        (ok.pk, False, 409),
    ]
    assert all(r.error for r in results[1:])
    assert LedgerEntry.objects.filter(remedy=ok).count() == 1


def test_bulk_approval_of_an_older_proposal_never_approves_the_newer_one(sam, alice):
    first = quota_proposal(alice)
    tickets.fire("send_back", ticket=first.ticket, actor=sam, reason="Cek lagi.")
    tickets.fire("propose_remedy", ticket=first.ticket, actor=alice, quantity=1)
    (result,) = approve_remedies(ids=[first.pk], actor=sam)
    assert not result.ok
    newer = Remedy.objects.exclude(pk=first.pk).get(ticket=first.ticket)
    assert newer.state == RemedyState.PROPOSED
    first.ticket.refresh_from_db()
    assert first.ticket.state == State.AWAITING_APPROVAL


@pytest.mark.parametrize("who", ["alice", "fin", "nobody"])
def test_only_supervisors_may_bulk_approve(who, request, bob):
    remedy = quota_proposal(bob)
    response = api(request.getfixturevalue(who)).post(
        "/api/v1/remedies/approve/", {"ids": [remedy.pk]}, format="json"
    )
    assert response.status_code == 403
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.PROPOSED


def test_bulk_approval_needs_a_login():
    assert APIClient().post("/api/v1/remedies/approve/", {"ids": [1]}, format="json").status_code in (
        401,
        403,
    )


@pytest.mark.parametrize(
    "body", [{}, {"ids": []}, {"ids": "1,2"}, {"ids": ["x"]}, {"ids": list(range(1, 1002))}]
)
def test_bulk_approval_refuses_bad_input_and_approves_nothing(body, sam, alice):
    remedy = quota_proposal(alice)
    response = api(sam).post("/api/v1/remedies/approve/", body, format="json")
    assert response.status_code == 400
    assert "ids" in response.json()["errors"]
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.PROPOSED
