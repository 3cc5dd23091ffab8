"""The ticket page of the help-desk console and its buttons.

Every button posts to a small view that validates its input, calls one service (the same ones the
API and the tasks call) and tells the agent the outcome with Django's messages framework; a refusal
(wrong state, no permission, bad parameter) comes back as a clear message and changes nothing.
"""

import string
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from desk.console.verification import outcome_badge
from notifications import services as notifications
from notifications.models import CannedReply, MessageChannel
from tickets import roles, selectors, services, workflow
from tickets.evidence import EvidenceError, check_image, process_image
from tickets.exceptions import WorkflowError
from tickets.links import tracking_url
from tickets.models import Category, Evidence, State, Ticket
from tickets.services.assisted import COMPLETABLE_STATES
from verification import selectors as verification


def is_agent(user):
    return roles.is_agent(None, user)


def is_supervisor(user):
    return roles.is_supervisor(None, user)


def agents():
    """Staff who may work tickets (assignable), in one query."""
    User = get_user_model()
    has_perm = Q(groups__permissions__codename="work_ticket") | Q(user_permissions__codename="work_ticket")
    return list(
        User.objects.filter(is_active=True, is_staff=True)
        .filter(has_perm | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


STATE_COLOURS = {
    State.REPORTED: "#6b7280",
    State.IN_REVIEW: "#2563eb",
    State.AWAITING_INFO: "#d97706",
    State.AWAITING_APPROVAL: "#7c3aed",
    State.APPROVED: "#0891b2",
    State.RESOLVED: "#16a34a",
    State.CLOSED: "#374151",
    State.REJECTED: "#b91c1c",
    State.DUPLICATE: "#9ca3af",
    State.REMEDY_FAILED: "#dc2626",
}


def state_badge(ticket):
    colour = STATE_COLOURS.get(ticket.state, "#6b7280")
    return format_html(
        '<span class="badge" style="background:{}">{}</span>', colour, ticket.get_state_display()
    )


def sla_badge(ticket, now=None):
    due = selectors.sla_due(ticket)
    if due is None:
        return "—"
    now = now or timezone.now()
    if due < now:
        return format_html(
            '<span class="sla sla-breached">{}</span>', gettext("late by %s") % timesince(due, now, depth=1)
        )
    return format_html(
        '<span class="sla sla-ok">{}</span>', gettext("due in %s") % timesince(now, due, depth=1)
    )


# --- transitions as buttons with their parameters ---------------------------------------------


@dataclass
class Field:
    name: str
    label: str
    kind: str = "textarea"  # textarea, number, text
    required: bool = False
    value: str = ""


def transition_fields(ticket, name):
    """The inputs of a transition's form: its declared parameters that apply to this ticket."""
    return [
        Field(
            param.name,
            param.label,
            param.kind,
            param.required,
            "" if param.initial is None else str(param.initial(ticket) or ""),
        )
        for param in workflow.spec(name).declaration.params
        if not param.internal and param.shown_for(ticket)
    ]


def transition_label(name):
    found = workflow.spec(name)
    return found.declaration.label if found else name


def transition_buttons(ticket, user):
    buttons = []
    for name in services.available_transitions(ticket, user):
        declaration = workflow.spec(name).declaration
        if not declaration.console:
            continue
        buttons.append(
            {
                "name": name,
                "label": declaration.label,
                "fields": transition_fields(ticket, name),
                "danger": declaration.danger,
                "url": reverse("admin:tickets_ticket_transition", args=[ticket.pk, name]),
            }
        )
    return buttons


# --- canned replies -------------------------------------------------------------------------------


class _Placeholders(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def fill_placeholders(text, ticket):
    """Fill {name} {reference} {quantity} {link}; anything else in braces is left as it is."""
    remedy = ticket.current_remedy
    quantity = remedy.describe() if remedy is not None else (ticket.quota_lost or "")
    values = _Placeholders(
        name=ticket.full_name, reference=ticket.reference, quantity=quantity, link=tracking_url(ticket)
    )
    try:
        return string.Formatter().vformat(text, (), values)
    except (ValueError, IndexError):
        return text


def canned_replies(ticket):
    replies = []
    for reply in CannedReply.objects.filter(active=True).order_by("title"):
        replies.append(
            {
                "id": reply.pk,
                "title": reply.title,
                "body": fill_placeholders(reply.body_for(ticket.language), ticket),
                "transition": transition_label(reply.transition) if reply.transition else "",
            }
        )
    return replies


def reply_channels(ticket):
    channels = []
    if ticket.whatsapp:
        channels.append((MessageChannel.WHATSAPP, MessageChannel.WHATSAPP.label))
    if ticket.email:
        channels.append((MessageChannel.EMAIL, MessageChannel.EMAIL.label))
    channels.append((MessageChannel.NOTE, MessageChannel.NOTE.label))
    return channels


# --- views ----------------------------------------------------------------------------------------


def _ticket_or_404(request, pk):
    if not (request.user.has_perm("tickets.view_ticket") or is_agent(request.user)):
        raise PermissionDenied
    return get_object_or_404(Ticket.objects.select_related("assigned_to", "duplicate_of"), pk=pk)


def _back(ticket):
    return redirect("admin:tickets_ticket_change", ticket.pk)


def ticket_page(request, model_admin, pk):
    ticket = _ticket_or_404(request, pk)
    replied = ticket.applicant_replied_at
    services.mark_reply_seen(ticket=ticket, user=request.user)
    remedy = ticket.current_remedy
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"{ticket.reference} · {ticket.full_name}",
        "subtitle": None,
        "ticket": ticket,
        "applicant_replied_at": replied,
        "original": ticket,
        "remedy": remedy,
        "sla_due": selectors.sla_due(ticket),
        "sla": sla_badge(ticket),
        "state_badge": state_badge(ticket),
        "serials": list(ticket.serials.values_list("value", flat=True)),
        "evidence": list(ticket.evidence.exclude(source=Evidence.Source.STAFF)),
        "thread": selectors.conversation(ticket),
        "log": selectors.transition_log(ticket),
        "state_labels": dict(State.choices),
        "related": selectors.related_tickets(ticket),
        "buttons": transition_buttons(ticket, request.user),
        "can_work": is_agent(request.user),
        "can_complete": is_agent(request.user)
        and ticket.category == Category.OTHER
        and ticket.state in COMPLETABLE_STATES
        and ticket.erased_at is None,
        "can_mark_duplicate": "mark_duplicate" in services.available_transitions(ticket, request.user),
        "canned": canned_replies(ticket),
        "channels": reply_channels(ticket),
        "agents": agents(),
        "platform": verification.panel(ticket),
    }
    if context["platform"]:
        context["platform"]["badge"] = outcome_badge(context["platform"]["verification"])
    return TemplateResponse(request, "admin/tickets/ticket/page.html", context)


def _refused(request, label, exc):
    messages.error(request, f"{label}: {exc.message}")


@require_POST
def transition(request, pk, name):
    ticket = _ticket_or_404(request, pk)
    label = transition_label(name)
    params = {key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}
    try:
        ticket = services.perform_transition(ticket=ticket, name=name, actor=request.user, params=params)
    except WorkflowError as exc:
        _refused(request, label, exc)
    else:
        ticket.refresh_from_db(fields=["state"])  # work after commit (an applied remedy) may have moved it
        messages.success(
            request,
            gettext("%(action)s: done. The ticket is now “%(state)s”.")
            % {"action": label, "state": ticket.get_state_display()},
        )
    return _back(ticket)


def _reply_image(request):
    """The image attached to a reply, checked and re-encoded as evidence is; None when there is none."""
    upload = request.FILES.get("image")
    if upload is None:
        return None
    check_image(upload, max_bytes=settings.EVIDENCE_MAX_BYTES, max_pixels=settings.EVIDENCE_MAX_PIXELS)
    upload.seek(0)
    return process_image(upload.read())


def _macro_params(spec, body, title):
    """A macro's text is the transition's message to the applicant when it has one, else its log note."""
    public = spec.declaration.public
    if public and public != "note":
        return {public: body, "note": title}, True
    return {"note": title}, False


@require_POST
def reply(request, pk):
    ticket = _ticket_or_404(request, pk)
    if not is_agent(request.user):
        raise PermissionDenied
    channel = request.POST.get("channel", "")
    body = (request.POST.get("body") or "").strip()
    canned = request.POST.get("canned", "")
    macro = None
    if canned.isdigit():
        macro = CannedReply.objects.filter(pk=int(canned), active=True).first()
        if macro is not None and not body:
            body = fill_placeholders(macro.body_for(ticket.language), ticket)
    allowed = dict(reply_channels(ticket))
    if channel not in allowed:
        messages.error(request, gettext("Reply: choose a channel this applicant can be reached on."))
    elif not body:
        messages.error(request, gettext("Reply: write a message or pick a canned reply."))
    elif ticket.erased_at is not None and channel != MessageChannel.NOTE:
        messages.error(request, gettext("Reply: this applicant's personal data was erased."))
    else:
        try:
            image = _reply_image(request)
        except EvidenceError as exc:
            messages.error(request, gettext("Reply: the image was refused: %(why)s") % {"why": exc.message})
            return _back(ticket)
        transition = workflow.spec(macro.transition) if macro is not None and macro.transition else None
        try:
            with transaction.atomic():
                told = _send_with_macro(request, ticket, channel, body, image, transition, macro)
        except WorkflowError as exc:
            _refused(request, gettext("Reply"), exc)
            return _back(ticket)
        if transition is not None:
            ticket.refresh_from_db()
            messages.success(
                request,
                gettext("%(action)s: done, with the reply. The ticket is now “%(state)s”.")
                % {"action": transition.declaration.label, "state": ticket.get_state_display()},
            )
        elif channel == MessageChannel.NOTE:
            messages.success(request, gettext("Internal note added."))
        if not told and channel != MessageChannel.NOTE:
            messages.success(request, gettext("Reply queued on %(channel)s.") % {"channel": allowed[channel]})
    return _back(ticket)


def _send_with_macro(request, ticket, channel, body, image, transition, macro):
    """Send the reply, then fire the macro's transition, in one transaction: both happen or neither.

    Returns whether the transition itself told the applicant (its message carried the reply's text)."""
    if transition is None:
        notifications.send_reply(ticket=ticket, author=request.user, channel=channel, body=body, image=image)
        return False
    params, carries_text = _macro_params(transition, body, macro.title)
    if not carries_text:
        notifications.send_reply(ticket=ticket, author=request.user, channel=channel, body=body, image=image)
    services.perform_transition(ticket=ticket, name=transition.name, actor=request.user, params=params)
    if carries_text and image is not None:
        told = notifications.latest_notification(
            ticket=ticket, event=transition.declaration.tells_applicant, channel=channel
        )
        if told is None:  # an internal note, or a channel the notification did not use
            notifications.send_reply(
                ticket=ticket, author=request.user, channel=channel, body=body, image=image
            )
        else:
            notifications.attach_image(message=told, image=image)
    return carries_text


@require_POST
def assign(request, pk):
    ticket = _ticket_or_404(request, pk)
    value = request.POST.get("assignee", "")
    User = get_user_model()
    if value == "me":
        assignee = request.user
    elif value.isdigit():
        assignee = User.objects.filter(pk=int(value)).first()
        if assignee is None:
            messages.error(request, gettext("Assign: no such user."))
            return _back(ticket)
    else:
        assignee = None
    try:
        services.assign(ticket=ticket, actor=request.user, assignee=assignee)
    except WorkflowError as exc:
        _refused(request, gettext("Assign"), exc)
    else:
        who = assignee.get_username() if assignee else gettext("nobody")
        messages.success(request, gettext("Assigned to %(who)s.") % {"who": who})
    return _back(ticket)


@require_POST
def erase(request, pk):
    ticket = _ticket_or_404(request, pk)
    if request.POST.get("confirm") != "yes":
        messages.error(request, gettext("Erase: tick the box to confirm the applicant asked for erasure."))
        return _back(ticket)
    try:
        done = services.erase_personal_data(
            ticket=ticket, actor=request.user, note=request.POST.get("note") or gettext("Erasure request")
        )
    except WorkflowError as exc:
        _refused(request, gettext("Erase"), exc)
    else:
        if done is not None and done.erased_at is None:
            messages.warning(request, erasure_waits_message(1))
        else:
            messages.success(request, gettext("Personal data erased."))
    return _back(ticket)


def erasure_waits_message(count):
    return ngettext(
        "Erasure recorded: the remedy is still being processed and needs the account details; the data "
        "will be erased automatically once it is applied or has failed, and the applicant was told so.",
        "Erasure recorded for %(count)d tickets whose remedy is still being processed; their data will "
        "be erased automatically once it is applied or has failed, and the applicants were told so.",
        count,
    ) % {"count": count}


@require_POST
def next_ticket(request):
    try:
        ticket = services.claim_next(actor=request.user)
    except WorkflowError as exc:
        _refused(request, gettext("Next ticket"), exc)
        return redirect("admin:tickets_ticket_changelist")
    if ticket is None:
        messages.info(request, gettext("No unassigned reported tickets are waiting."))
        return redirect("admin:tickets_ticket_changelist")
    messages.success(request, gettext("%(reference)s is yours now.") % {"reference": ticket.reference})
    return _back(ticket)
