"""Who may fire a transition: the permission callables of the ticket's state machine.

An actor is a staff `User`, or one of the two non-user actors below. django-fsm-2 calls each
permission as `permission(ticket, actor)`; services check it with `has_transition_perm`.
"""


class _Actor:
    """An actor that is not a user: the applicant (holder of the tracking token) or the system."""

    is_staff = False
    is_superuser = False
    is_authenticated = False
    pk = None
    id = None

    def __init__(self, kind):
        self.kind = kind

    def has_perm(self, perm, obj=None):
        return False

    def __repr__(self):
        return f"<{self.kind}>"

    def __str__(self):
        return self.kind


SYSTEM = _Actor("system")
APPLICANT = _Actor("applicant")

AGENT_PERMISSION = "tickets.work_ticket"
SUPERVISOR_PERMISSION = "tickets.supervise_ticket"
FINANCE_PERMISSION = "tickets.export_remedies"


def actor_kind(actor):
    return actor.kind if isinstance(actor, _Actor) else "staff"


def _is_staff_with(actor, permission):
    return bool(getattr(actor, "is_active", False) and actor.is_staff and actor.has_perm(permission))


def is_agent(ticket, actor):
    return _is_staff_with(actor, AGENT_PERMISSION)


def is_supervisor(ticket, actor):
    return _is_staff_with(actor, SUPERVISOR_PERMISSION)


def is_supervisor_not_proposer(ticket, actor):
    """Four eyes: a supervisor approves, but never a remedy they proposed themselves."""
    if not is_supervisor(ticket, actor):
        return False
    remedy = ticket.current_remedy
    return remedy is None or remedy.proposed_by_id != actor.pk


def is_system(ticket, actor):
    return actor is SYSTEM


def may_propose(ticket, actor):
    """An agent proposes a remedy on a ticket in review; the system when the platform's record confirms
    the claim, from `reported` as well (the verification worker)."""
    if actor is SYSTEM:
        return ticket.state in ("reported", "in_review")
    return ticket.state == "in_review" and is_agent(ticket, actor)


# People may fire it from these states only: elsewhere they are refused for the state (409), as for
# any transition, not for the permission (services.check_transition).
may_propose.people_from = ("in_review",)


def may_confirm(ticket, actor):
    """The applicant confirms; the system after the waiting period; an agent on the applicant's word."""
    return actor is APPLICANT or actor is SYSTEM or is_agent(ticket, actor)


def may_reopen(ticket, actor):
    """An agent at any time; the applicant within the reopen window."""
    if actor is APPLICANT:
        return ticket.within_reopen_window()
    return is_agent(ticket, actor)


# Who each permission lets fire a transition, in words (the workflow's table in docs/architecture.md).
WHO = {
    is_agent: "agent",
    is_supervisor: "supervisor",
    is_supervisor_not_proposer: "supervisor, never the proposer",
    is_system: "system",
    may_propose: "agent from `in_review`; system when the platform's record confirms",
    may_confirm: "applicant; system after the waiting period; agent on the applicant's word",
    may_reopen: "agent; applicant within the reopen window",
}
