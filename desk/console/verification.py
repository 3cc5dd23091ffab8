"""The verification outcome in the console: a badge for the ticket list and the ticket page."""

from django.utils.html import format_html
from django.utils.translation import gettext

from verification.models import Outcome

OUTCOME_COLOURS = {
    Outcome.PENDING: "#6b7280",
    Outcome.CONFIRMED: "#16a34a",
    Outcome.CONTRADICTED: "#b91c1c",
    Outcome.UNKNOWN: "#d97706",
}


def verification_or_none(ticket):
    """The ticket's verification as loaded by `select_related("verification")`, or None."""
    try:
        return ticket.verification
    except ticket._meta.get_field("verification").related_model.DoesNotExist:
        return None


def outcome_badge(verification):
    if verification is None:
        return ""
    badge = format_html(
        '<span class="badge verification-{}" style="background:{}" title="{}">{}</span>',
        verification.outcome,
        OUTCOME_COLOURS.get(verification.outcome, "#6b7280"),
        verification.get_reason_display() if verification.reason else "",
        verification.get_outcome_display(),
    )
    if verification.duplicate_of_id:
        return format_html('{} <span class="dup">{}</span>', badge, gettext("same serial/order"))
    return badge
