"""What the ticket workflow sets off in incidents (see tickets/workflow.py)."""

from incidents import services
from tickets import roles, workflow


@workflow.on("report_created")
def link_after_intake(*, ticket, **kwargs):
    services.link_new_report(ticket=ticket)


@workflow.on("propose_remedy", before=True)
def hold_system_proposals(change, params):
    """An incident declared without automatic proposals leaves its confirmed reports to the agents."""
    if change.actor is roles.SYSTEM:
        services.refuse_held_system_proposal(ticket=change.ticket)


@workflow.twin(hold_system_proposals)
def hold_many_system_proposals(changes):
    services.refuse_held_system_proposals([change for change in changes if change.actor is roles.SYSTEM])
