"""Which ticket an inbound message belongs to, opening one when none does, and what a reply changes."""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.models import Direction, Message, MessageStatus
from tickets import roles
from tickets import services as tickets
from tickets.exceptions import TransitionForbidden, TransitionNotAllowed
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
    fields = {
        "category": Category.OTHER,
        "preferred_channel": "whatsapp" if channel == "whatsapp" else "email",
        "language": _earlier_language(data) or "id",
        **data,
    }
    fields["full_name"] = (fields.get("full_name") or "")[:200]
    fields["description"] = (fields.get("description") or "")[:2000]
    # An email is answered with the web form, prefilled, which asks for what the platform can verify.
    confirmation = "report_opened_email" if channel == "email" else "report_opened"
    return tickets.submit_report(data=fields, channel=channel, confirmation=confirmation)


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


def applicant_replied(*, ticket, whatsapp=False, flag=True):
    """An inbound message on `ticket`: mark it for its agent, reopen the WhatsApp window, end the wait."""
    if flag:
        tickets.flag_applicant_reply(ticket=ticket)
    if whatsapp:
        now = timezone.now()
        Ticket.objects.filter(pk=ticket.pk).update(last_inbound_at=now)
        ticket.last_inbound_at = now
    if ticket.state == State.AWAITING_INFO:
        try:
            tickets.fire("info_received", ticket=ticket, note="reply from the applicant")
        except TransitionNotAllowed:
            pass  # the ticket moved on meanwhile (closed, rejected): the message is stored all the same


# --- the applicant's replies on the status page and the API --------------------------------------


def add_applicant_message(*, ticket, body="", evidence=(), channel="web"):
    """Store the applicant's reply (and screenshots) on the ticket; a ticket awaiting it goes back to review.

    `evidence` holds header-checked uploads as (name, PendingImage) pairs, stored pending for the media
    worker (tickets/evidence_pipeline.py), or (name, bytes) pairs re-encoded before the transaction opens.
    """
    processed = tickets.processed_images(evidence)
    stored = []
    try:
        with transaction.atomic():
            locked = tickets.lock_ticket(ticket)
            message = Message.objects.create(
                ticket=locked,
                direction=Direction.INBOUND,
                channel=channel,
                body=body,
                status=MessageStatus.RECEIVED,
                created_at=timezone.now(),
            )
            for name, image in processed:
                item = tickets.attach_evidence(ticket=locked, name=name, image=image, message=message)
                stored.extend([item.file, item.thumbnail])
            tickets.flag_applicant_reply(ticket=locked)
            # last_inbound_at is WhatsApp's 24-hour window: a web reply does not open it.
            if locked.state == State.AWAITING_INFO:
                tickets.fire(
                    "info_received", ticket=locked, note=_("The applicant answered on the status page.")
                )
    except BaseException:
        tickets.delete_files(stored)
        raise
    return message


def applicant_reopen(*, ticket, body):
    """The applicant says the problem is not solved (resolved) or contests a rejection, within the window.

    Their words are stored as a message on the ticket, in the same transaction as the reopening.
    """
    body = tickets.required_text(body, "body", _("Tell us what is still wrong."))
    try:
        with transaction.atomic():
            ticket = tickets.fire("reopen", ticket=ticket, actor=roles.APPLICANT, note=body)
            add_applicant_message(ticket=ticket, body=body)
    except TransitionForbidden:
        raise TransitionNotAllowed(
            _("This report can no longer be reopened. Please submit a new report.")
        ) from None
    return ticket


CONTACT_FIELDS = (
    "full_name",
    "nik",
    "email",
    "whatsapp",
    "platform_account_email",
    "preferred_channel",
    "language",
)


def applicant_writes(*, ticket, body="", evidence=(), channel="web"):
    """The applicant's message from the status page or the API; returns (ticket, message).

    On a ticket no longer in conversation (closed, rejected, duplicate) it opens a new ticket that names
    the old one, as a WhatsApp message or an email to such a ticket does: an agent reads it, it never
    sits unread on a finished ticket.
    """
    if ticket.state in CONVERSATION_STATES:
        return ticket, add_applicant_message(ticket=ticket, body=body, evidence=evidence, channel=channel)
    processed = tickets.processed_images(evidence)  # before the transaction: no lock while decoding
    data = {name: getattr(ticket, name) for name in CONTACT_FIELDS}
    data["description"] = f"{ticket.reference}: {body}"[:2000]
    with transaction.atomic():
        new = open_ticket(channel=channel, data=data)
        message = add_applicant_message(ticket=new, body=body, evidence=processed, channel=channel)
    return new, message
