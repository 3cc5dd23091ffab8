"""The supervisors' admin: the approval queue, approve selected (per-item report), send back with a reason."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from refunds.models import RemedyState
from tests.refunds.helpers import quota_proposal, refund_proposal
from tickets.models import State

pytestmark = pytest.mark.django_db
QUEUE = "/admin/refunds/remedyawaitingapproval/"


@pytest.fixture(autouse=True)
def _paused(settings):
    settings.REMEDIES_PAUSED = True


def login(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def texts(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_queue_lists_proposals_awaiting_approval(sam, alice, django_assert_max_num_queries):
    quota = quota_proposal(alice, quantity=7)
    refund = refund_proposal(alice, amount=25_000)
    for _ in range(20):
        quota_proposal(alice)
    client = login(sam)
    client.get(QUEUE)  # warm the session and permission caches
    with django_assert_max_num_queries(15):
        response = client.get(QUEUE)
    assert response.status_code == 200
    page = response.content.decode()
    assert quota.ticket.reference in page and refund.ticket.reference in page
    assert "7 e-Meterai" in page and "Rp 25.000" in page
    assert "alice" in page


def test_agents_and_finance_do_not_see_the_queue(alice, fin):
    for user in (alice, fin):
        assert login(user).get(QUEUE).status_code == 403


def test_approve_selected_reports_each_item_and_keeps_four_eyes(sam, alice):
    other = quota_proposal(alice)
    own = quota_proposal(sam)
    response = login(sam).post(
        QUEUE, {"action": "approve_selected", "_selected_action": [other.pk, own.pk]}, follow=True
    )
    assert response.status_code == 200
    messages = texts(response)
    assert any(other.ticket.reference in text and "approved" in text for text in messages), messages
    assert any(own.ticket.reference in text and "proposed yourself" in text for text in messages), messages
    other.refresh_from_db()
    own.refresh_from_db()
    assert (other.state, other.approved_by) == (RemedyState.APPROVED, sam)
    assert own.state == RemedyState.PROPOSED


def test_send_back_asks_for_a_reason_then_sends_back(sam, alice):
    remedy = quota_proposal(alice)
    client = login(sam)
    page = client.post(QUEUE, {"action": "send_back_selected", "_selected_action": [remedy.pk]})
    assert page.status_code == 200
    assert b'name="reason"' in page.content and remedy.ticket.reference.encode() in page.content

    blank = client.post(
        QUEUE,
        {"action": "send_back_selected", "_selected_action": [remedy.pk], "send_back": "1", "reason": " "},
    )
    assert blank.status_code == 200 and b"errorlist" in blank.content
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.PROPOSED

    done = client.post(
        QUEUE,
        {
            "action": "send_back_selected",
            "_selected_action": [remedy.pk],
            "send_back": "1",
            "reason": "Cek riwayat.",
        },
        follow=True,
    )
    assert any("sent back" in text for text in texts(done))
    remedy.refresh_from_db()
    remedy.ticket.refresh_from_db()
    assert (remedy.state, remedy.withdrawn_reason) == (RemedyState.WITHDRAWN, "Cek riwayat.")
    assert remedy.ticket.state == State.IN_REVIEW


def test_agents_cannot_run_the_queue_actions(alice, bob):
    remedy = quota_proposal(bob)
    response = login(alice).post(QUEUE, {"action": "approve_selected", "_selected_action": [remedy.pk]})
    assert response.status_code == 403
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.PROPOSED


def test_remedies_ledger_and_mismatches_are_read_only(sam, alice):
    remedy = refund_proposal(alice)
    client = login(sam)
    change = client.get(f"/admin/refunds/remedy/{remedy.pk}/change/")
    assert change.status_code == 200
    assert b'name="_save"' not in change.content
    assert b"1234567890" not in change.content and b"******7890" in change.content
    assert client.post(f"/admin/refunds/remedy/{remedy.pk}/change/", {"quantity": 9}).status_code == 403
    assert client.get("/admin/refunds/remedy/add/").status_code == 403
    assert client.get("/admin/refunds/ledgerentry/").status_code == 200
    assert client.get("/admin/refunds/ledgerentry/add/").status_code == 403
    assert client.get("/admin/refunds/reconciliationmismatch/").status_code == 200
