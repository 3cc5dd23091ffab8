"""Message texts for each event, in the applicant's language, short enough for WhatsApp.

Each event also names its approved WhatsApp Content template (TWILIO_CONTENT_SIDS) with the variables
{1} name, {2} reference, {3} tracking link, {4} the event's message or remedy; the WhatsApp channel
uses it only outside the 24-hour window.
"""

from dataclasses import dataclass, field
from functools import lru_cache

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

# WhatsApp bodies stay under Twilio's 1600 characters even with a long agent message.
MAX_WHATSAPP_MESSAGE_CHARS = 1400


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
        "report_opened": _(
            "Hello {name}, we opened report {reference} for your message. We use the data you send us "
            "only to handle this complaint. Follow its status here: {link}"
        ),
        "report_opened_email": _(
            "Hello {name}, we received your email and opened report {reference}. We use the data you send "
            "us only to handle this complaint. So that we can check it against the platform's records, "
            "please complete the report form (your name and address are filled in): {form}\n"
            "Follow the report here: {link}"
        ),
        "evidence_requested": _(
            "Report {reference}: please send us a screenshot of the stamping or purchase history. Reply "
            "to this message with the image, or add it on the status page: {link}"
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
        "tracking_link": _("You asked for the link to report {reference}. Follow it here: {link}"),
        "evidence_refused": _(
            "Report {reference}: a screenshot could not be used ({message}). Send another by reply or at {link}"
        ),
        "csat_request": _(
            "Report {reference} is closed. How satisfied are you with our help? {message}\n{link}"
        ),
        "csat_thanks": _("Thank you for your rating of report {reference}. {message}\n{link}"),
        "erasure_scheduled": _(
            "Report {reference}: we have recorded your request to erase your personal data. It will be "
            "erased as soon as your {remedy} has been processed, which still needs your account details. "
            "{link}"
        ),
        "incident_notice": _(
            "Report {reference}: {message}\nYour report is linked to this outage; there is no need to report "
            "again. Follow it here: {link}"
        ),
    }


# Internal texts (never sent to the applicant).
def sent_back_note(reason):
    """The note the proposing agent finds on the ticket when a supervisor sends a proposal back."""
    return _("Sent back by the supervisor: {reason}").format(reason=reason)


def evidence_refused_note(name, reason):
    """The note agents find when the worker refused a screenshot the applicant uploaded."""
    return _(
        "Screenshot {name} was refused when it was checked ({reason}); the applicant was asked for another."
    ).format(name=name or "-", reason=reason)


EVENTS = list(_texts().keys())


@lru_cache(maxsize=8)
def _texts_in(language):
    """The texts in `language`, translated once per process: a bulk approval renders thousands."""
    with translation.override(language):
        return _texts()


def _subject(event, reference):
    return pgettext("email subject", "[{reference}] e-Meterai report").format(reference=reference)


def content_sid(event, language):
    """The approved Content template for `event` in `language`, or '' when none is configured."""
    configured = settings.TWILIO_CONTENT_SIDS.get(event, "")
    if isinstance(configured, dict):
        return configured.get(language) or configured.get("id") or ""
    return configured or ""


def render(event, *, ticket, channel, **context):
    """The subject, body and WhatsApp template of a notification, in the ticket's language."""
    remedy = context.pop("remedy", None)
    language = ticket.language or "id"
    with translation.override(language):
        values = {
            "name": ticket.full_name or _("Applicant"),
            "reference": ticket.reference,
            "remedy": remedy.describe() if remedy is not None else "",
            "message": "",
            "link": "",
            "form": "",  # the prefilled report form, for an applicant who wrote an email
        }
        values.update({key: str(value) for key, value in context.items()})
        if channel == "whatsapp":
            values["message"] = _shorten(values["message"])
        body = _texts_in(language)[event].format(**values)
        content = {}
        sid = content_sid(event, language)
        if sid:
            content = {
                "sid": sid,
                # Twilio refuses empty variables; a template uses only those its event has.
                "variables": {
                    key: value
                    for key, value in {
                        "1": values["name"],
                        "2": values["reference"],
                        "3": values["link"],
                        "4": values["message"] or values["remedy"] or values["form"],
                    }.items()
                    if value
                },
            }
        return Rendered(subject=_subject(event, ticket.reference), body=body, content=content)


def _shorten(text):
    limit = MAX_WHATSAPP_MESSAGE_CHARS
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
