"""Message texts for each event, in the applicant's language, short enough for WhatsApp."""

from dataclasses import dataclass, field

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext


@dataclass
class Rendered:
    subject: str
    body: str
    content: dict = field(default_factory=dict)


def _texts():
    """Event -> body template, translated in the active language."""
    return {
        "report_received": _(
            "Hello {name}, your e-Meterai report has been received with reference {reference}. "
            "Follow its status here: {link}"
        ),
        "info_requested": _(
            "Hello {name}, we need more information for report {reference}: {message}\n"
            "Reply to this message or on the status page: {link}"
        ),
        "info_reminder": _(
            "Reminder: report {reference} is waiting for your answer. Without an answer it will be closed. {link}"
        ),
        "approved": _("Report {reference}: your {remedy} has been approved and is being processed. {link}"),
        "remedy_applied": _(
            "Report {reference}: your {remedy} has been processed. Please log in to the e-Meterai platform "
            "again and check your quota. Confirm on the status page: {link}"
        ),
        "resolved": _("Report {reference} has been resolved: {message}\n{link}"),
        "rejected": _("Report {reference} was rejected: {message}\nYou can reply on the status page: {link}"),
        "duplicate": _(
            "Report {reference} was merged with an existing report about the same problem. "
            "We will follow up there. {link}"
        ),
        "closed": _("Report {reference} is closed. Thank you. {link}"),
        "closed_unanswered": _(
            "Report {reference} was closed because we received no answer. You can submit a new report. {link}"
        ),
        "agent_reply": _("{message}\n\nReport {reference}: {link}"),
    }


def _subject(event, reference):
    return pgettext("email subject", "[{reference}] e-Meterai report").format(reference=reference)


def render(event, *, ticket, channel, **context):
    """The subject and body of a notification, in the ticket's language."""
    remedy = context.pop("remedy", None)
    with translation.override(ticket.language or "id"):
        values = {
            "name": ticket.full_name or _("Applicant"),
            "reference": ticket.reference,
            "remedy": remedy.describe() if remedy is not None else "",
            "message": "",
            "link": "",
        }
        values.update({key: str(value) for key, value in context.items()})
        body = _texts()[event].format(**values)
        return Rendered(subject=_subject(event, ticket.reference), body=body)
