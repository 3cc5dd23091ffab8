"""Who works a ticket: assigning it, "next ticket", and the reminder a waiting ticket sends."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets import roles, workflow
from tickets.exceptions import InvalidParameter, TransitionForbidden, TransitionNotAllowed
from tickets.models import State, Ticket
from tickets.services.transitions import fire, lock_ticket


def assign(*, ticket, actor, assignee):
    """Give a ticket to an agent (or take it away with assignee=None)."""
    if not roles.is_agent(ticket, actor):
        raise TransitionForbidden(_("You are not permitted to do this."))
    if assignee is not None and not roles.is_agent(ticket, assignee):
        raise InvalidParameter(_("Tickets can only be assigned to agents."), field="assignee")
    with transaction.atomic():
        locked = lock_ticket(ticket)
        locked.assigned_to = assignee
        locked.save(update_fields=["assigned_to", "updated_at"])
    return locked


def flag_applicant_reply(*, ticket):
    """The applicant wrote on any channel: the console marks the ticket until its agent opens it."""
    now = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(applicant_replied_at=now)
    ticket.applicant_replied_at = now


def mark_reply_seen(*, ticket, user):
    """Clear the "applicant replied" marker when the assignee (or any agent, if nobody is) opens the ticket.

    Returns whether the marker was cleared. One conditional update: no lock, no lost write."""
    if ticket.applicant_replied_at is None or not roles.is_agent(ticket, user):
        return False
    if ticket.assigned_to_id not in (None, user.pk):
        return False
    cleared = Ticket.objects.filter(pk=ticket.pk, applicant_replied_at=ticket.applicant_replied_at).update(
        applicant_replied_at=None
    )
    if cleared:
        ticket.applicant_replied_at = None
    return bool(cleared)


def claim_next(*, actor):
    """Give the agent the oldest unassigned reported ticket; never the same one to two agents.

    On PostgreSQL `SKIP LOCKED` lets agents pressing "next ticket" at once each take a different row
    instead of queueing behind one lock; SQLite serialises the transactions instead.
    """
    if not roles.is_agent(None, actor):
        raise TransitionForbidden(_("You are not permitted to do this."))
    for _attempt in range(5):
        with transaction.atomic():
            candidate = (
                Ticket.objects.select_for_update(skip_locked=True)
                .filter(state=State.REPORTED, assigned_to=None)
                .order_by("created_at", "id")
                .first()
            )
            if candidate is None:
                return None
            try:
                return fire("start_review", ticket=candidate, actor=actor)
            except TransitionNotAllowed:
                continue  # taken between the look and the lock (SQLite); try the next one
    return None


def send_info_reminder(*, ticket):
    """Remind the applicant once that the ticket waits for their answer (the workflow timers call it).

    Returns the ticket, or None when the reminder had been sent already."""
    with transaction.atomic():
        locked = lock_ticket(ticket)
        if locked.state != State.AWAITING_INFO:
            raise TransitionNotAllowed(
                _("Not allowed while the ticket is “%(state)s”.") % {"state": locked.get_state_display()}
            )
        if locked.info_reminder_sent_at is not None:
            return None  # sent already (by another worker, or an earlier run)
        locked.info_reminder_sent_at = timezone.now()
        locked.save(update_fields=["info_reminder_sent_at", "updated_at"])
        workflow.emit("info_reminder", ticket=locked)
    return locked
