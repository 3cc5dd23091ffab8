"""What the ticket workflow sets off in remedies, attached to its transitions (see tickets/workflow.py).

A proposal is created, approved, withdrawn or retried on the locked ticket before its state changes,
in the same transaction (the ticket, then its remedy: the one lock order); once the ticket's state
changed, its remedies are checked against it (`refunds.consistency`), and an approved remedy is handed
to a worker once the transaction commits. Each hook a bulk approval runs has its set-based twin
(`workflow.twin`), which does the same for the whole set in a few statements.
"""

from django.db import transaction

from refunds import consistency, services
from refunds.models import Remedy
from tickets import workflow


@workflow.on("propose_remedy", before=True)
def create_proposal(change, params):
    services.create_proposal(
        ticket=change.ticket,
        proposed_by=services.proposer(change.actor),  # None: the system
        quantity=params.get("quantity"),
        amount=params.get("amount"),
        note=params.get("note") or "",
    )


@workflow.twin(create_proposal)
def create_proposals(changes):
    services.create_proposals(changes)


@workflow.on("approve", before=True)
def approve_proposal(change, params):
    services.mark_approved(ticket=change.ticket, approved_by=change.actor, remedy_id=params.get("remedy_id"))


@workflow.twin(approve_proposal)
def approve_proposals(changes):
    services.mark_many_approved(changes)


@workflow.on("send_back", before=True)
def withdraw_proposal(change, params):
    services.withdraw(ticket=change.ticket, reason=params["reason"])


@workflow.on("retry_remedy", before=True)
def approve_again(change, params):
    services.mark_retry(ticket=change.ticket)


REMEDY_TRANSITIONS = (
    "propose_remedy",
    "approve",
    "send_back",
    "remedy_applied",
    "remedy_failed",
    "retry_remedy",
)


def check_remedy_in_step(change, params):
    consistency.check(change.ticket)


@workflow.twin(check_remedy_in_step)
def check_remedies_in_step(changes):
    consistency.check_many(change.ticket for change in changes)


for _name in REMEDY_TRANSITIONS:
    workflow.on(_name)(check_remedy_in_step)


@workflow.on("approve")
@workflow.on("retry_remedy")
def schedule_application(change, params):
    remedy_id = change.ticket.current_remedy.pk
    transaction.on_commit(lambda: services.schedule_application(remedy_id))


@workflow.twin(schedule_application)
def schedule_applications(changes):
    remedy_ids = [change.ticket.current_remedy.pk for change in changes]
    if remedy_ids:
        transaction.on_commit(lambda: services.schedule_applications(remedy_ids))


@workflow.on("personal_data_erased")
def redact_payout(*, ticket, redacted):
    Remedy.objects.filter(ticket=ticket).exclude(payout_account="").update(
        payout_account=redacted, payout_name=redacted
    )
