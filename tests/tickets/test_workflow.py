"""The ticket workflow: every transition from every state, who may fire it, and its log."""

import pytest

from refunds import consistency
from refunds import services as remedies
from refunds.models import RemedyState
from tests.factories import TicketFactory, ticket_in_state
from tickets import roles, services, workflow
from tickets.exceptions import InvalidParameter, TransitionForbidden, TransitionNotAllowed
from tickets.models import Category, State, Ticket, TicketTransition

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("remedies_paused")]

# The workflow's table (README, "Architecture"), `resolve` included.
ALLOWED_FROM = {
    "start_review": {State.REPORTED},
    "request_info": {State.IN_REVIEW},
    "info_received": {State.AWAITING_INFO},
    "propose_remedy": {State.IN_REVIEW},
    "approve": {State.AWAITING_APPROVAL},
    "send_back": {State.AWAITING_APPROVAL},
    "remedy_applied": {State.APPROVED},
    "remedy_failed": {State.APPROVED},
    "retry_remedy": {State.REMEDY_FAILED},
    "resolve": {State.IN_REVIEW},
    "reject": {State.REPORTED, State.IN_REVIEW, State.AWAITING_INFO},
    "mark_duplicate": {State.REPORTED, State.IN_REVIEW, State.AWAITING_INFO},
    "confirm": {State.RESOLVED},
    "reopen": {State.RESOLVED, State.REJECTED},
    "close_unanswered": {State.AWAITING_INFO},
}
TARGET = {
    "start_review": State.IN_REVIEW,
    "request_info": State.AWAITING_INFO,
    "info_received": State.IN_REVIEW,
    "propose_remedy": State.AWAITING_APPROVAL,
    "approve": State.APPROVED,
    "send_back": State.IN_REVIEW,
    "remedy_applied": State.RESOLVED,
    "remedy_failed": State.REMEDY_FAILED,
    "retry_remedy": State.APPROVED,
    "resolve": State.RESOLVED,
    "reject": State.REJECTED,
    "mark_duplicate": State.DUPLICATE,
    "confirm": State.CLOSED,
    "reopen": State.IN_REVIEW,
    "close_unanswered": State.CLOSED,
}
CASES = [(name, state) for name in ALLOWED_FROM for state in State.values]


def fire(name, ticket, *, alice, sam, original=None):
    """Fire `name` as the actor the workflow names, with valid parameters; the worker's two transitions
    on an approved ticket through the refunds services that fire them, with the remedy's own."""
    if name == "remedy_applied" and ticket.state == State.APPROVED:
        remedies.record_application(
            remedy_id=ticket.current_remedy.pk, provider_reference="P-1", gateway="ledger"
        )
        return Ticket.objects.get(pk=ticket.pk)
    if name == "remedy_failed" and ticket.state == State.APPROVED:
        remedies.record_failure(remedy_id=ticket.current_remedy.pk, error="HTTP 400")
        return Ticket.objects.get(pk=ticket.pk)

    def call(**kwargs):
        return services.fire(name, **kwargs)

    by_actor = {
        "start_review": dict(actor=alice),
        "request_info": dict(actor=alice, message="Kirim tangkapan layar riwayat, ya."),
        "info_received": {},
        "propose_remedy": dict(actor=alice, quantity=2),
        "approve": dict(actor=sam),
        "send_back": dict(actor=sam, reason="Jumlah tidak sesuai riwayat."),
        "remedy_applied": {},
        "remedy_failed": dict(error="HTTP 400"),
        "retry_remedy": dict(actor=sam),
        "resolve": dict(actor=alice, note="Akun sudah pulih."),
        "reject": dict(actor=alice, reason="Bukan keluhan e-Meterai."),
        "mark_duplicate": dict(actor=alice, original=original),
        "confirm": dict(actor=roles.APPLICANT),
        "reopen": dict(actor=alice),
        "close_unanswered": {},
    }
    return call(ticket=ticket, **by_actor[name])


@pytest.mark.parametrize(("name", "state"), CASES, ids=[f"{n}-from-{s}" for n, s in CASES])
def test_every_transition_from_every_state(name, state, alice, sam):
    category = Category.OTHER if name == "resolve" else Category.STAMP_FAILED
    ticket = ticket_in_state(state, proposer=alice, category=category)
    original = TicketFactory()
    if state in ALLOWED_FROM[name]:
        result = fire(name, ticket, alice=alice, sam=sam, original=original.reference)
        assert result.state == TARGET[name]
        ticket.refresh_from_db()
        assert ticket.state == TARGET[name]
        assert ticket.transitions.get(name=name).target == TARGET[name]
        consistency.check(ticket)  # the remedy moved with the ticket, as the one rule says
    else:
        with pytest.raises(TransitionNotAllowed):
            fire(name, ticket, alice=alice, sam=sam, original=original.reference)
        ticket.refresh_from_db()
        assert ticket.state == state
        assert not ticket.transitions.exists()


def test_log_records_who_when_from_to_and_note(alice):
    ticket = ticket_in_state(State.IN_REVIEW)
    services.fire("reject", ticket=ticket, actor=alice, reason="Bukti tidak terbaca.")
    entry = TicketTransition.objects.get(ticket=ticket)
    assert (entry.name, entry.source, entry.target) == ("reject", State.IN_REVIEW, State.REJECTED)
    assert entry.actor == alice
    assert entry.actor_kind == "staff"
    assert entry.note == "Bukti tidak terbaca."
    assert entry.created_at is not None


def test_log_is_append_only(alice):
    ticket = ticket_in_state(State.REPORTED)
    services.fire("start_review", ticket=ticket, actor=alice)
    entry = ticket.transitions.get()
    entry.note = "rewritten"
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()


def test_system_and_applicant_are_logged_without_a_user(alice):
    ticket = ticket_in_state(State.RESOLVED)
    services.fire("confirm", ticket=ticket, actor=roles.APPLICANT)
    entry = ticket.transitions.get()
    assert entry.actor is None
    assert entry.actor_kind == "applicant"


def test_state_cannot_be_set_directly():
    ticket = TicketFactory()
    with pytest.raises(AttributeError):
        ticket.state = State.CLOSED


# --- who may do what ---------------------------------------------------------------------------

AGENT_TRANSITIONS = [
    ("start_review", State.REPORTED, {}),
    ("request_info", State.IN_REVIEW, {"message": "Mohon data."}),
    ("propose_remedy", State.IN_REVIEW, {"quantity": 1}),
    ("reject", State.IN_REVIEW, {"reason": "x"}),
    ("reopen", State.REJECTED, {}),
]


@pytest.mark.parametrize(("name", "state", "params"), AGENT_TRANSITIONS)
def test_someone_without_staff_access_may_not_work_tickets(name, state, params, nobody):
    ticket = ticket_in_state(state)
    with pytest.raises(TransitionForbidden):
        services.perform_transition(ticket=ticket, name=name, actor=nobody, params=params)


@pytest.mark.parametrize(("name", "state", "params"), AGENT_TRANSITIONS)
def test_finance_may_not_work_tickets(name, state, params, fin):
    ticket = ticket_in_state(state)
    with pytest.raises(TransitionForbidden):
        services.perform_transition(ticket=ticket, name=name, actor=fin, params=params)


@pytest.mark.parametrize(("name", "state", "params"), AGENT_TRANSITIONS)
def test_supervisors_may_work_tickets_too(name, state, params, sam):
    ticket = ticket_in_state(state)
    services.perform_transition(ticket=ticket, name=name, actor=sam, params=params)
    log = ticket.transitions.get(name=name)
    assert (log.actor, log.source) == (sam, state)


@pytest.mark.parametrize(
    ("name", "state", "params"),
    [
        ("approve", State.AWAITING_APPROVAL, {}),
        ("send_back", State.AWAITING_APPROVAL, {"reason": "x"}),
        ("retry_remedy", State.REMEDY_FAILED, {}),
    ],
)
def test_agents_may_not_do_what_supervisors_do(name, state, params, alice, bob):
    ticket = ticket_in_state(state, proposer=bob)
    with pytest.raises(TransitionForbidden):
        services.perform_transition(ticket=ticket, name=name, actor=alice, params=params)


def test_supervisor_cannot_approve_own_proposal(sam):
    ticket = ticket_in_state(State.IN_REVIEW)
    services.fire("propose_remedy", ticket=ticket, actor=sam, quantity=2)
    with pytest.raises(TransitionForbidden, match="proposed yourself"):
        services.fire("approve", ticket=ticket, actor=sam)
    ticket.refresh_from_db()
    assert ticket.state == State.AWAITING_APPROVAL


def test_another_supervisor_approves_a_supervisors_proposal(sam, sue):
    ticket = ticket_in_state(State.IN_REVIEW)
    services.fire("propose_remedy", ticket=ticket, actor=sam, quantity=2)
    services.fire("approve", ticket=ticket, actor=sue)
    remedy = ticket.remedies.get()
    assert (remedy.state, remedy.proposed_by, remedy.approved_by) == (RemedyState.APPROVED, sam, sue)


@pytest.mark.parametrize(
    "name", sorted(name for name, spec in workflow.transitions().items() if spec.system_only)
)
def test_people_cannot_fire_system_transitions(name, sam):
    state = next(iter(ALLOWED_FROM[name]))
    ticket = ticket_in_state(state)
    with pytest.raises(TransitionForbidden):
        services.perform_transition(ticket=ticket, name=name, actor=sam)


def test_applicant_reopens_within_the_window(settings):
    ticket = ticket_in_state(State.RESOLVED)
    services.fire("reopen", ticket=ticket, actor=roles.APPLICANT)
    assert ticket.transitions.get().actor_kind == "applicant"


def test_applicant_cannot_reopen_after_the_window(settings):
    settings.REOPEN_WINDOW_DAYS = 0
    ticket = ticket_in_state(State.REJECTED)
    with pytest.raises(TransitionForbidden):
        services.fire("reopen", ticket=ticket, actor=roles.APPLICANT)


def test_applicant_cannot_work_tickets():
    ticket = ticket_in_state(State.REPORTED)
    with pytest.raises(TransitionForbidden):
        services.fire("start_review", ticket=ticket, actor=roles.APPLICANT)


def test_available_transitions_depend_on_the_user(alice, sam):
    ticket = ticket_in_state(State.AWAITING_APPROVAL, proposer=alice)
    assert services.available_transitions(ticket, alice) == []
    assert services.available_transitions(ticket, sam) == ["approve", "send_back"]
    ticket_by_sam = ticket_in_state(State.AWAITING_APPROVAL, proposer=sam)
    assert services.available_transitions(ticket_by_sam, sam) == ["send_back"]


# --- parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "state", "params", "field"),
    [
        ("request_info", State.IN_REVIEW, {"message": "  "}, "message"),
        ("reject", State.IN_REVIEW, {}, "reason"),
        ("send_back", State.AWAITING_APPROVAL, {"reason": ""}, "reason"),
        ("mark_duplicate", State.IN_REVIEW, {"original": "EMT-NOPE22"}, "original"),
        ("propose_remedy", State.IN_REVIEW, {}, "quantity"),
        ("propose_remedy", State.IN_REVIEW, {"quantity": 0}, "quantity"),
        ("propose_remedy", State.IN_REVIEW, {"quantity": "lots"}, "quantity"),
        ("propose_remedy", State.IN_REVIEW, {"quantity": 1001}, "quantity"),
    ],
)
def test_missing_or_bad_parameters_are_refused_and_change_nothing(name, state, params, field, alice, sam):
    ticket = ticket_in_state(state, proposer=alice)
    with pytest.raises(InvalidParameter) as refused:
        services.perform_transition(ticket=ticket, name=name, actor=sam, params=params)
    assert refused.value.field == field
    ticket.refresh_from_db()
    assert ticket.state == state
    assert not ticket.transitions.exists()


def test_a_ticket_cannot_be_a_duplicate_of_itself(alice):
    ticket = ticket_in_state(State.IN_REVIEW)
    with pytest.raises(InvalidParameter):
        services.fire("mark_duplicate", ticket=ticket, actor=alice, original=ticket.reference)


def test_money_refund_is_proposed_as_an_amount_within_what_was_paid(alice):
    ticket = ticket_in_state(
        State.IN_REVIEW,
        category=Category.PAID_NOT_CREDITED,
        amount_paid=50_000,
        remedy_preference="money",
        payout_method="bank",
        payout_account="014-1234567890",
        payout_name="Siti",
    )
    with pytest.raises(InvalidParameter):
        services.fire("propose_remedy", ticket=ticket, actor=alice, amount=60_000)
    services.fire("propose_remedy", ticket=ticket, actor=alice, amount=50_000)
    remedy = ticket.remedies.get()
    assert (remedy.kind, remedy.amount, remedy.payout_account) == ("refund", 50_000, "014-1234567890")


def test_other_complaints_have_no_remedy_to_propose(alice):
    ticket = ticket_in_state(State.IN_REVIEW, category=Category.OTHER)
    with pytest.raises(TransitionNotAllowed):
        services.fire("propose_remedy", ticket=ticket, actor=alice, quantity=1)


def test_send_back_withdraws_the_proposal_and_a_new_one_can_follow(alice, sam):
    ticket = ticket_in_state(State.IN_REVIEW)
    services.fire("propose_remedy", ticket=ticket, actor=alice, quantity=3)
    services.fire("send_back", ticket=ticket, actor=sam, reason="Riwayat menunjukkan 2.")
    services.fire("propose_remedy", ticket=ticket, actor=alice, quantity=2)
    states = list(ticket.remedies.order_by("id").values_list("state", "quantity"))
    assert states == [(RemedyState.WITHDRAWN, 3), (RemedyState.PROPOSED, 2)]


# --- assignment ---------------------------------------------------------------------------------


def test_start_review_claims_the_ticket(alice):
    ticket = ticket_in_state(State.REPORTED)
    assert services.fire("start_review", ticket=ticket, actor=alice).assigned_to == alice


def test_claim_next_gives_the_oldest_unassigned_reported_ticket(alice, bob):
    older, newer = ticket_in_state(State.REPORTED), ticket_in_state(State.REPORTED)
    older.created_at = newer.created_at.replace(year=2024)
    older.save(update_fields=["created_at"])
    assert services.claim_next(actor=alice).pk == older.pk
    assert services.claim_next(actor=bob).pk == newer.pk
    assert services.claim_next(actor=bob) is None
