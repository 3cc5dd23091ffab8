"""What the ticket workflow sets off in verification (see tickets/workflow.py)."""

from tickets import workflow
from verification import services


@workflow.on("report_created")
def verify_after_intake(*, ticket, **kwargs):
    services.start(ticket=ticket)


@workflow.on("report_completed")
def verify_after_completion(*, ticket, **kwargs):
    """A ticket opened by a message that an agent completed into a report is verified as any report."""
    services.start(ticket=ticket)


@workflow.on("propose_remedy", before=True)
def claim_serials(change, params):
    services.claim_serials(ticket=change.ticket)


@workflow.twin(claim_serials)
def claim_many_serials(changes):
    services.claim_many_serials(changes)


@workflow.on("send_back", before=True)
def release_serials(change, params):
    services.release_serials(ticket=change.ticket)


@workflow.on("personal_data_erased")
def forget_record(*, ticket, redacted):
    services.forget_record(ticket=ticket)
