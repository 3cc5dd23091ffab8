"""What the ticket workflow sets off in incidents (see tickets/workflow.py)."""

from incidents import services
from tickets import workflow


@workflow.on("report_created")
def link_after_intake(*, ticket, **kwargs):
    services.link_new_report(ticket=ticket)
