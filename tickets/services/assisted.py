"""Reports an agent takes: for a caller on the phone, and an `other` ticket completed into a report.

The input is checked by the desk with the report serializer (tickets.intake), as the form's and the
API's; these services store it, with the agent and the caller's consent in the log.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import roles, workflow
from tickets.exceptions import TransitionForbidden, TransitionNotAllowed
from tickets.models import (
    COMMON_FIELDS,
    OPEN_STATES,
    PAID_FIELDS,
    STAMP_FAILED_FIELDS,
    Category,
    SerialNumber,
    State,
    TicketTransition,
)
from tickets.services.reports import attach_evidence, delete_files, processed_images, submit_report
from tickets.services.transitions import lock_ticket

# What completing a message-opened ticket may set: the report's fields, never its contact history.
COMPLETED_FIELDS = [*COMMON_FIELDS, *sorted((STAMP_FAILED_FIELDS - {"serial_numbers"}) | PAID_FIELDS)]
COMPLETABLE_STATES = [State.REPORTED, State.IN_REVIEW, State.AWAITING_INFO]


def _agent_only(agent):
    if not roles.is_agent(None, agent):
        raise TransitionForbidden(_("Only help-desk agents take reports for applicants."))


def consent_note(agent, when):
    return _(
        "Consent to process personal data for this complaint given by the caller to {agent} on {when}."
    ).format(
        agent=agent.get_full_name() or agent.get_username(),
        when=timezone.localtime(when).strftime("%Y-%m-%d %H:%M %Z"),
    )


def open_for_caller(*, data, serial_numbers=(), evidence=(), agent, request_evidence=False):
    """A report taken by phone (channel `phone`): the agent is in the log with the caller's consent.

    The caller is told the reference and tracking link on the channel they chose (`preferred_channel`)
    and, with `request_evidence`, asked there for the screenshot.
    """
    _agent_only(agent)
    with transaction.atomic():
        ticket = submit_report(
            data=data,
            serial_numbers=serial_numbers,
            evidence=evidence,
            channel="phone",
            actor=agent,
            note=consent_note(agent, timezone.now()),
        )
        if request_evidence:
            workflow.emit("evidence_requested", ticket=ticket)
    return ticket


def complete_report(*, ticket, data, serial_numbers=(), evidence=(), agent, request_evidence=False):
    """An open `other` ticket (opened by a message) made a report of its category, conversation kept.

    Emits `report_completed`, after which the ticket is handled as any report of its category.
    """
    _agent_only(agent)
    processed = processed_images(evidence)
    stored = []
    try:
        with transaction.atomic():
            locked = lock_ticket(ticket)
            if locked.category != Category.OTHER or locked.state not in COMPLETABLE_STATES:
                raise TransitionNotAllowed(
                    _("Only an open ticket of category “other” can be completed into a report.")
                )
            changed = [name for name in COMPLETED_FIELDS if name in data]
            for name in changed:
                setattr(locked, name, data[name])
            if serial_numbers:
                locked.possible_duplicate = locked.possible_duplicate or (
                    SerialNumber.objects.filter(value__in=serial_numbers, ticket__state__in=OPEN_STATES)
                    .exclude(ticket=locked)
                    .exists()
                )
            locked.save(update_fields=[*changed, "possible_duplicate", "updated_at"])
            SerialNumber.objects.bulk_create(
                [SerialNumber(ticket=locked, value=value) for value in serial_numbers], ignore_conflicts=True
            )
            for name, image in processed:
                item = attach_evidence(ticket=locked, name=name, image=image)
                stored.extend([item.file, item.thumbnail])
            TicketTransition.objects.create(
                ticket=locked,
                name="complete_report",
                source=locked.state,
                target=locked.state,
                actor=agent,
                actor_kind=roles.actor_kind(agent),
                note=_("Completed into a report of category “{category}”.").format(
                    category=locked.get_category_display()
                ),
            )
            workflow.emit("report_completed", ticket=locked)
            if request_evidence:
                workflow.emit("evidence_requested", ticket=locked)
    except BaseException:
        delete_files(stored)
        raise
    return locked
