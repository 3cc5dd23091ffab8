"""Four eyes and bulk approval: in the service, the staff API and the bulk endpoint, each item on its own."""

import json

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from notifications import services as notification_services
from notifications.models import Message
from refunds import services
from refunds.models import LedgerEntry, Remedy, RemedyState
from refunds.services import approve_remedies
from tests.refunds.helpers import quota_proposal, refund_proposal
from tickets import services as tickets
from tickets.exceptions import TransitionForbidden, WorkflowError
from tickets.models import State, TicketTransition

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


# --- the set-based path: the same judgement and the same rows as approving one by one -------------


def test_four_eyes_is_judged_per_item_in_one_set(sam, alice, django_capture_on_commit_callbacks):
    own, others, system = quota_proposal(sam), quota_proposal(alice), quota_proposal(None)
    with translation.override("en"):
        results = approve_remedies(ids=[own.pk, others.pk, system.pk], actor=sam)
    assert [(r.ok, r.status) for r in results] == [(False, 403), (True, 200), (True, 200)]
    assert results[0].error == "You cannot approve a remedy you proposed yourself."
    states = dict(Remedy.objects.values_list("pk", "state"))
    assert states == {own.pk: "proposed", others.pk: "approved", system.pk: "approved"}
    assert set(TicketTransition.objects.filter(name="approve").values_list("ticket", flat=True)) == {
        others.ticket_id,
        system.ticket_id,
    }


def test_a_set_refuses_each_item_with_the_message_of_one_approval(sam, sue, alice, bob):
    """Every refusal of the set is the one `fire` gives for that item alone, in the applicant's order."""

    def mixed():
        ok, already, withdrawn, own = (quota_proposal(p) for p in (alice, bob, alice, sam))
        tickets.fire("approve", ticket=already.ticket, actor=sue)
        tickets.fire("send_back", ticket=withdrawn.ticket, actor=sue, reason="Jumlah salah.")
        older = quota_proposal(alice)  # sent back and proposed again: the older one is no longer it
        tickets.fire("send_back", ticket=older.ticket, actor=sue, reason="Cek lagi.")
        tickets.fire("propose_remedy", ticket=older.ticket, actor=alice, quantity=1)
        return [ok.pk, already.pk, withdrawn.pk, own.pk, older.pk, 999_999, ok.pk]

    def one_by_one(ids):
        answers = []
        for remedy_id in ids:
            remedy = Remedy.objects.filter(pk=remedy_id).select_related("ticket").first()
            try:
                if remedy is None:
                    raise LookupError
                tickets.fire("approve", ticket=remedy.ticket, actor=sam, remedy_id=remedy_id)
            except WorkflowError as exc:
                answers.append((False, str(exc.message), exc.http_status))
            except LookupError:
                answers.append((False, "No such remedy.", 404))
            else:
                answers.append((True, None, 200))
        return answers

    with translation.override("en"):
        expected = one_by_one(mixed())
        results = approve_remedies(ids=mixed(), actor=sam)
    assert [(r.ok, r.error, r.status) for r in results] == expected
    assert [ok for ok, _error, _status in expected] == [True, False, False, False, False, False, False]


def _written(remedy):
    """What approving `remedy` wrote, with the values of its own ticket (reference, link) masked."""
    remedy.refresh_from_db()
    ticket = remedy.ticket
    ticket.refresh_from_db()

    def masked(value):
        text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
        return text.replace(ticket.reference, "REF").replace(ticket.tracking_token, "TOKEN")

    (log,) = TicketTransition.objects.filter(ticket=ticket, name="approve")
    messages = Message.objects.filter(ticket=ticket, event="approved").order_by("channel")
    return {
        "log": (log.source, log.target, log.actor_id, log.actor_kind, log.note, log.public_note),
        "ticket": (ticket.state, ticket.state_changed_at == log.created_at),
        "remedy": (
            remedy.state,
            remedy.approved_by_id,
            remedy.attempts,
            remedy.next_attempt_at == remedy.approved_at,
            abs((remedy.approved_at - log.created_at).total_seconds()) < 5,
        ),
        "messages": [
            (
                m.direction,
                m.channel,
                m.event,
                m.author_id,
                masked(m.subject),
                masked(m.body),
                m.to_address,
                m.content_sid,
                masked(m.content_variables),
                m.status,
                m.handed_over_at is not None,
            )
            for m in messages
        ],
    }


def test_the_set_writes_the_rows_one_approval_writes(
    sam, alice, monkeypatch, django_capture_on_commit_callbacks
):
    """Log, ticket, remedy and outbox rows compared field by field with the single path's; the
    notifications are handed over in one publish and each remedy is scheduled once."""
    published, scheduled = [], []
    monkeypatch.setattr(notification_services, "schedule_delivery", lambda *ids: published.append(ids))
    monkeypatch.setattr(services, "schedule_application", scheduled.append)
    monkeypatch.setattr(services, "schedule_applications", scheduled.extend)

    def applicants():
        whatsapp_only = dict(full_name="Budi", email="", whatsapp="+6281234500001", language="en")
        both = dict(full_name="Siti", email="siti@example.com", whatsapp="+6281234500002")
        return [
            quota_proposal(alice, **whatsapp_only),
            quota_proposal(None, **both),  # the system's proposal
            refund_proposal(alice, full_name="Ani", email="ani@example.com", whatsapp=""),
        ]

    single, many = applicants(), applicants()
    for remedy in single:  # each in a transaction of its own, as the console does it
        with django_capture_on_commit_callbacks(execute=True):
            tickets.fire("approve", ticket=remedy.ticket, actor=sam, remedy_id=remedy.pk)
    single_publishes, single_scheduled = len(published), list(scheduled)
    with django_capture_on_commit_callbacks(execute=True):
        results = approve_remedies(ids=[remedy.pk for remedy in many], actor=sam)
    assert all(result.ok for result in results)
    for one, other in zip(single, many, strict=True):
        written_one, written_other = _written(one), _written(other)
        assert written_one == written_other
        assert written_other["messages"]  # the applicant is told, on each channel they gave
    assert single_publishes == 3 and len(published) == 4  # one publish for the whole set
    many_messages = Message.objects.filter(ticket__in=[r.ticket for r in many], event="approved")
    assert sorted(published[-1]) == sorted(many_messages.values_list("pk", flat=True))
    assert single_scheduled == [r.pk for r in single]
    assert scheduled[3:] == [r.pk for r in many]  # after commit, once each
