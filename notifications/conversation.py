"""Which ticket an inbound message belongs to, opening one when none does, and what a reply changes."""

from django.db.models import Q
from django.utils import timezone

from tickets.exceptions import TransitionNotAllowed
from tickets.models import OPEN_STATES, Category, State, Ticket

# A resolved ticket still waits for the applicant's confirmation: a message then belongs to it.
CONVERSATION_STATES = [*OPEN_STATES, State.RESOLVED]


def ticket_for_whatsapp(number):
    """The applicant's latest ticket still in conversation, for a WhatsApp number, or None."""
    return (
        Ticket.objects.filter(whatsapp=number, state__in=CONVERSATION_STATES).order_by("-created_at").first()
    )


def open_ticket(*, channel, data):
    """A ticket of category `other` for a message that matches none.

    Consent: the applicant wrote to us on this channel about their complaint; the ticket records the
    time of that first message as `consent_at`, and the confirmation carries the privacy notice.
    """
    from tickets.services import submit_report

    fields = {
        "category": Category.OTHER,
        "preferred_channel": "whatsapp" if channel == "whatsapp" else "email",
        "language": _earlier_language(data) or "id",
        **data,
    }
    fields["full_name"] = (fields.get("full_name") or "")[:200]
    fields["description"] = (fields.get("description") or "")[:2000]
    return submit_report(data=fields, channel=channel, confirmation="report_opened")


def _earlier_language(data):
    """The language the applicant chose on an earlier ticket from the same number or address."""
    contact = Q()
    if data.get("whatsapp"):
        contact |= Q(whatsapp=data["whatsapp"])
    if data.get("email"):
        contact |= Q(email__iexact=data["email"])
    if not contact:
        return None
    earlier = Ticket.objects.filter(contact, erased_at=None).order_by("-created_at")
    return earlier.values_list("language", flat=True).first()


def applicant_replied(*, ticket, whatsapp=False):
    """An inbound message on `ticket`: reopen the WhatsApp window, and end the wait for information."""
    from tickets.services import info_received

    if whatsapp:
        now = timezone.now()
        Ticket.objects.filter(pk=ticket.pk).update(last_inbound_at=now)
        ticket.last_inbound_at = now
    if ticket.state == State.AWAITING_INFO:
        try:
            info_received(ticket=ticket, note="reply from the applicant")
        except TransitionNotAllowed:
            pass  # the ticket moved on meanwhile (closed, rejected): the message is stored all the same
