"""What the holder of a ticket's tracking token may see: the ticket found by reference and token, its status.

A wrong or missing token is answered exactly like an unknown reference, and tokens are compared in
constant time. Shared by the applicant API and the status page.
"""

import re
import secrets

from django.http import Http404
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from notifications.models import Message
from tickets.models import REFERENCE_LENGTH, State, Ticket

_NO_TOKEN = "-" * 32
CHANNEL_LABELS = {"web": _("Status page"), "whatsapp": "WhatsApp", "email": _("Email"), "phone": _("Phone")}


def find_tracked_ticket(reference, token):
    """The ticket with this reference whose tracking token is `token`; Http404 otherwise."""
    ticket = Ticket.objects.filter(reference=str(reference or "").strip().upper()).first()
    expected = ticket.tracking_token if ticket is not None else _NO_TOKEN
    matches = secrets.compare_digest(expected.encode(), str(token or "").encode())
    if ticket is None or not token or not matches:
        raise Http404("No such report.")
    return ticket


def normalized_reference(text):
    """A reference as typed, with or without `EMT-`, spaces or small letters: `emt 7k3q9xa` -> `EMT-7K3Q9XA`."""
    value = re.sub(r"[\s\-]", "", str(text or "")).upper()
    if len(value) == REFERENCE_LENGTH + 3 and value.startswith("EMT"):
        value = value[3:]
    return f"EMT-{value}" if value else ""


def token_from(request):
    """The tracking token from the X-Tracking-Token header, the query string or a posted form."""
    return (
        request.headers.get("X-Tracking-Token")
        or request.GET.get("token")
        or getattr(request, "POST", {}).get("token")
        or ""
    )


def status_path(ticket):
    return (
        reverse("status", kwargs={"reference": ticket.reference})
        + "?"
        + urlencode({"token": ticket.tracking_token})
    )


def evidence_url(ticket, item, *, thumb=False):
    query = {"token": ticket.tracking_token}
    if thumb:
        query["thumb"] = "1"
    path = reverse("status-evidence", kwargs={"reference": ticket.reference, "pk": item.pk})
    return path + "?" + urlencode(query)


def ticket_status(ticket):
    """The status the applicant sees: state, public timeline, conversation (no internal notes), remedy."""
    transitions = list(ticket.transitions.all())
    messages = list(Message.objects.public().filter(ticket=ticket).order_by("created_at", "id"))
    evidence = list(ticket.evidence.all())
    by_message = {}
    for item in evidence:
        by_message.setdefault(item.message_id, []).append(item)
    remedy = ticket.current_remedy
    return {
        "reference": ticket.reference,
        "category": ticket.category,
        "category_label": str(ticket.get_category_display()),
        "state": ticket.state,
        "state_label": str(applicant_state_label(ticket.state, remedy)),
        "created_at": ticket.created_at,
        "timeline": [
            {
                "name": step.name,
                "state": step.target,
                "state_label": str(applicant_state_label(step.target, remedy)),
                "at": step.created_at,
                "note": step.public_note,
            }
            for step in transitions
            if step.source != step.target  # records that change no state (erasure) are not steps
        ],
        "messages": [
            {
                "id": message.pk,
                "direction": message.direction,
                "automatic": message.author_id is None,
                "channel": message.channel,
                "channel_label": str(CHANNEL_LABELS.get(message.channel, message.channel)),
                "body": message.body,
                "at": message.created_at,
                "evidence": [_evidence_entry(ticket, item) for item in by_message.get(message.pk, [])],
            }
            for message in messages
        ],
        "evidence": [_evidence_entry(ticket, item) for item in evidence],
        "remedy": _remedy(remedy),
        "can_confirm": ticket.state == State.RESOLVED,
        "can_reopen": ticket.state in (State.RESOLVED, State.REJECTED) and ticket.within_reopen_window(),
    }


RESOLVED_BY_REMEDY = {"quota": _("Quota restored"), "refund": _("Money refunded")}


def applicant_state_label(state, remedy):
    """The state as the applicant reads it: `resolved` says which remedy happened."""
    if state == State.RESOLVED:
        return RESOLVED_BY_REMEDY.get(getattr(remedy, "kind", ""), _("Resolved"))
    return State(state).label if state in State.values else ""


def _evidence_entry(ticket, item):
    """A screenshot being checked has no link: nothing unprocessed is ever served."""
    ready = item.is_ready
    return {
        "id": item.pk,
        "name": item.original_name,
        "state": item.state,
        "url": evidence_url(ticket, item) if ready else None,
        "thumbnail_url": evidence_url(ticket, item, thumb=True) if ready else None,
    }


def _remedy(remedy):
    if remedy is None:
        return None
    return {
        "kind": remedy.kind,
        "kind_label": str(remedy.get_kind_display()),
        "quantity": remedy.quantity,
        "amount": remedy.amount,
        "state": remedy.state,
        "state_label": str(remedy.get_state_display()),
    }
