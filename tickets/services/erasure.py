"""The applicant's personal data erased on request or after retention, never under a remedy in flight."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets import roles, workflow
from tickets.exceptions import TransitionForbidden
from tickets.models import REMEDY_IN_FLIGHT_STATES, Evidence, TicketTransition
from tickets.services.reports import delete_files
from tickets.services.transitions import lock_ticket

REDACTED = "[redacted]"


def erase_personal_data(*, ticket, actor, note=""):
    """Erase the applicant's personal data from a ticket, keeping the ledger and the statistics.

    Evidence files go, NIK, contact details, payout account and free text are replaced with
    redactions; the workflow log keeps who, when and which states (with notes redacted) and records
    the erasure itself. While a remedy is in flight (proposed, approved, being applied) the platform
    account or the payout account is still needed: the request is recorded, the applicant is told it
    will be carried out once the remedy is processed, and `tickets.tasks.erase_expired` does it then.
    Returns the ticket (`erased_at` tells which happened), or None when it was erased already.
    """
    if actor is not roles.SYSTEM and not roles.is_agent(ticket, actor):
        raise TransitionForbidden(_("You are not permitted to do this."))
    with transaction.atomic():
        locked = lock_ticket(ticket)
        if locked.erased_at is not None:
            return None  # erased already
        if locked.state in REMEDY_IN_FLIGHT_STATES:
            return _defer_erasure(locked, actor, note)
        _erase(locked, actor, note)
    return locked


def _defer_erasure(ticket, actor, note):
    if ticket.erasure_requested_at is not None:
        return ticket  # requested already: the applicant was told
    now = timezone.now()
    ticket.erasure_requested_at = now
    ticket.save(update_fields=["erasure_requested_at", "updated_at"])
    _log_erasure_step(ticket, "erasure_requested", actor, note, now)
    workflow.emit("erasure_scheduled", ticket=ticket)
    return ticket


def _log_erasure_step(ticket, name, actor, note, now):
    TicketTransition.objects.create(
        ticket=ticket,
        name=name,
        source=ticket.state,
        target=ticket.state,
        actor=actor if roles.actor_kind(actor) == "staff" else None,
        actor_kind=roles.actor_kind(actor),
        note=note,
        created_at=now,
    )


def _erase(locked, actor, note):
    """Redact a locked ticket whose remedy (if any) is no longer in flight."""
    files = []
    for item in Evidence.objects.filter(ticket=locked):
        files += [stored for stored in (item.file, item.thumbnail) if stored.name]
    Evidence.objects.filter(ticket=locked).delete()
    now = timezone.now()
    for name in ("full_name", "description", "document_name", "payout_name"):
        setattr(locked, name, REDACTED if getattr(locked, name) else "")
    for name in ("nik", "email", "whatsapp", "platform_account_email", "payout_account"):
        setattr(locked, name, "")
    locked.erased_at = now
    locked.save()
    workflow.emit("personal_data_erased", ticket=locked, redacted=REDACTED)
    # The log is append-only for changes of state; its free text is personal data all the same.
    TicketTransition.objects.filter(ticket=locked).exclude(note="", public_note="").update(
        note=REDACTED, public_note=""
    )
    _log_erasure_step(locked, "erase_personal_data", actor, note, now)
    transaction.on_commit(lambda: delete_files(files))
