"""The applicant's pages: landing, confirmation and status; evidence files for token and staff.

The report form itself, in steps, is `desk.applicant.report_wizard`.
"""

import functools

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from desk.applicant import tracking
from desk.applicant.api import ApplicantMessageSerializer
from desk.applicant.report_steps import FILE_FIELDS
from notifications.conversation import applicant_reopen, applicant_writes
from tickets import ratelimit, roles, services, tasks
from tickets.exceptions import WorkflowError
from tickets.intake import plain_errors
from tickets.links import tracking_url
from tickets.masking import mask_email, mask_phone
from tickets.models import Evidence, State

# Said once after an action on the status page (Django's messages: gone when the page is reloaded).
DONE = {
    "reply": _("Thank you, your message was sent."),
    "reopen": _("Your report is open again. We will look at it and answer you here."),
    "confirm": _("Thank you for confirming. Your report is closed."),
}


def tracked_page(view):
    """A page reached by reference and token: unknown or wrong ones get a plain explanation (404)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Http404:
            return render(request, "tickets/not_found.html", status=404)

    return wrapper


def landing(request):
    return render(request, "tickets/landing.html")


@never_cache
@require_http_methods(["GET", "POST"])
def lost_link(request):
    """Send the tracking link again, to the WhatsApp number or email on file; the answer never says
    whether the reference exists or the contact matched, neither in words nor in time: the request only
    queues the inputs, and the task matches them and sends."""
    if request.method == "GET":
        return render(request, "tickets/lost_link.html", {"values": {}})
    values = {key: request.POST.get(key, "").strip()[:254] for key in ("reference", "contact")}
    if not values["reference"] or not values["contact"]:
        error = _("Enter the reference and the WhatsApp number or email you reported with.")
        return render(request, "tickets/lost_link.html", {"values": values, "error": error}, status=400)
    try:
        ratelimit.check_link_request(request, values["reference"])
    except ratelimit.RateLimited as limited:
        response = render(
            request, "tickets/lost_link.html", {"values": values, "error": limited.message}, status=429
        )
        response["Retry-After"] = str(limited.retry_after)
        return response
    tasks.resend_tracking_link.delay(tracking.normalized_reference(values["reference"]), values["contact"])
    return render(request, "tickets/lost_link.html", {"values": values, "sent": True})


@tracked_page
@never_cache
def report_sent(request, reference):
    ticket = tracking.find_tracked_ticket(reference, tracking.token_from(request))
    hours = settings.SLA_HOURS
    context = {
        "ticket": ticket,
        "status_path": tracking.status_path(ticket),
        "first_hours": hours.get("reported", 4),
        "decision_hours": sum(
            hours.get(state, 0) for state in ("reported", "in_review", "awaiting_approval")
        ),
        "sent_to": [
            masked
            for masked in (
                mask_phone(ticket.whatsapp) if ticket.whatsapp else "",
                mask_email(ticket.email) if ticket.email else "",
            )
            if masked
        ],
    }
    return render(request, "tickets/report_sent.html", context)


@tracked_page
@never_cache
def status(request, reference):
    ticket = tracking.find_tracked_ticket(reference, tracking.token_from(request))
    return _status_page(request, ticket)


# Where each refusal on the status page is shown: the error summary links there.
ERROR_ANCHORS = {
    "body": "id_body",
    "evidence": "id_reply_evidence",
    "confirm": "confirm",
    "reopen": "id_reopen_body",
}


def _status_page(request, ticket, *, reply_errors=None, response_status=200):
    status = tracking.ticket_status(ticket)
    shown = conversation(ticket, status["messages"])
    question = awaiting_question(ticket, shown)
    context = {
        "ticket": ticket,
        "status": status,
        "conversation": [message for message in shown if message is not question],
        "question": question,
        "token": ticket.tracking_token,
        "reply_errors": reply_errors or {},
        "error_summary": [
            (ERROR_ANCHORS.get(key, "reply"), message)
            for key, messages in (reply_errors or {}).items()
            for message in messages
        ],
        "steps": progress_steps(ticket),
        "reported": reported_facts(ticket),
    }
    return render(request, "tickets/status.html", context, status=response_status)


@tracked_page
@require_POST
def status_reply(request, reference):
    ticket = tracking.find_tracked_ticket(reference, tracking.token_from(request))
    try:
        ratelimit.check_address(request)
    except ratelimit.RateLimited as exc:
        return _status_page(request, ticket, reply_errors={"body": [exc.message]}, response_status=429)
    serializer = ApplicantMessageSerializer(data=form_data(request.POST, request.FILES, exclude=("token",)))
    if not serializer.is_valid():
        code = serializer.evidence_status if "evidence" in serializer.errors else None
        return _status_page(
            request, ticket, reply_errors=plain_errors(serializer.errors), response_status=code or 400
        )
    written, _message = applicant_writes(
        ticket=ticket,
        body=serializer.validated_data.get("body", "").strip(),
        evidence=serializer.validated_data.get("evidence") or [],
    )
    if written.pk != ticket.pk:
        flash.success(
            request,
            _("Report %(old)s was finished, so your message opened a new report: %(new)s.")
            % {"old": ticket.reference, "new": written.reference},
        )
    else:
        flash.success(request, DONE["reply"])
    return redirect(tracking.status_path(written))


@tracked_page
@require_POST
def status_confirm(request, reference):
    ticket = tracking.find_tracked_ticket(reference, tracking.token_from(request))
    try:
        services.fire("confirm", ticket=ticket, actor=roles.APPLICANT)
    except WorkflowError as exc:
        return _status_page(request, ticket, reply_errors={"confirm": [exc.message]}, response_status=409)
    flash.success(request, DONE["confirm"])
    return redirect(tracking.status_path(ticket))


@tracked_page
@require_POST
def status_reopen(request, reference):
    ticket = tracking.find_tracked_ticket(reference, tracking.token_from(request))
    try:
        applicant_reopen(ticket=ticket, body=request.POST.get("body", "")[:2000])
    except WorkflowError as exc:
        return _status_page(
            request, ticket, reply_errors={"reopen": [exc.message]}, response_status=exc.http_status
        )
    flash.success(request, DONE["reopen"])
    return redirect(tracking.status_path(ticket))


def form_data(post, files, *, exclude=()):
    """The posted fields and files as one QueryDict, without the form's own fields."""
    data = QueryDict(mutable=True)
    for key, values in post.lists():
        if key not in exclude and key not in FILE_FIELDS:  # an empty file input posts an empty string
            data.setlist(key, values)
    for key in files:
        data.setlist(key, files.getlist(key))
    return data


# --- evidence files: personal data, never public ---------------------------------------------------


def _file_response(item, thumb):
    stored = item.thumbnail if thumb and item.thumbnail else item.file
    content_type = "image/jpeg" if stored is item.thumbnail else item.content_type
    response = FileResponse(stored.open("rb"), content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    return response


@never_cache
def status_evidence(request, reference, pk):
    """A screenshot of the ticket, for the holder of its tracking token (`?thumb=1`: the thumbnail)."""
    ticket = tracking.find_tracked_ticket(reference, tracking.token_from(request))
    item = get_object_or_404(Evidence, pk=pk, ticket=ticket, state=Evidence.State.READY)
    return _file_response(item, request.GET.get("thumb") == "1")


@never_cache
def evidence_file(request, pk):
    """A screenshot for staff (agents, supervisors); `?thumb=1` for the thumbnail. Linked from the admin."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not (roles.is_agent(None, request.user) or roles.is_supervisor(None, request.user)):
        raise Http404("No such file.")
    item = get_object_or_404(Evidence, pk=pk, state=Evidence.State.READY)
    return _file_response(item, request.GET.get("thumb") == "1")


def without_link(body, link):
    """The message without the tracking link and the words that introduce it ("Follow it here: <link>")."""
    lines = []
    for line in body.splitlines():
        if link in line:
            line = line.replace(link, "").rstrip()
            if line.endswith(":"):
                # Drop the sentence that only announces the link; keep what came before it.
                head, _, _label = line[:-1].rpartition(". ")
                line = head + "." if head else ""
        lines.append(line)
    return "\n".join(lines).strip()


def conversation(ticket, messages):
    """The messages for the page: one notification sent on two channels shows once, without the link
    to the page the applicant is reading."""
    link = tracking_url(ticket)
    shown = []
    for message in messages:
        body = without_link(message["body"], link)
        previous = shown[-1] if shown else None
        if (
            previous is not None
            and message["direction"] == "out"
            and previous["direction"] == "out"
            and previous["body"] == body
        ):
            previous["channel_label"] += ", " + message["channel_label"]
            continue
        shown.append({**message, "body": body})
    return shown


def awaiting_question(ticket, shown):
    """The desk's latest message, shown right above the reply box while the ticket waits for the applicant."""
    if ticket.state != State.AWAITING_INFO:
        return None
    asked = [message for message in shown if message["direction"] == "out"]
    return asked[-1] if asked else None


def reported_facts(ticket):
    """What the applicant reported, as the status page shows it (label, value); personal numbers masked."""
    facts = [(_("What happened"), ticket.get_category_display())]
    if ticket.quota_lost:
        facts.append((_("How many e-Meterai were used up?"), str(ticket.quota_lost)))
    serials = [serial.value for serial in ticket.serials.all()]
    if serials:
        facts.append((_("E-Meterai serial numbers"), "\n".join(serials)))
    if ticket.document_name:
        facts.append((_("Name of the document you stamped"), ticket.document_name))
    if ticket.order_id:
        facts.append((_("Order number"), ticket.order_id))
    if ticket.amount_paid:
        facts.append((_("Amount paid (rupiah)"), f"Rp {ticket.amount_paid:,}".replace(",", ".")))
    if ticket.remedy_preference:
        facts.append((_("What would you like?"), ticket.get_remedy_preference_display()))
    if ticket.description:
        facts.append((_("Tell us what happened"), ticket.description))
    return facts


# --- the applicant's view of the workflow ------------------------------------------------------------

PROGRESS = [
    (State.REPORTED, _("Received")),
    (State.IN_REVIEW, _("Being checked")),
    (State.APPROVED, _("Approved")),
    (State.RESOLVED, _("Done")),
]
_STEP_OF_STATE = {
    State.REPORTED: 0,
    State.IN_REVIEW: 1,
    State.AWAITING_INFO: 1,
    State.AWAITING_APPROVAL: 1,
    State.APPROVED: 2,
    State.REMEDY_FAILED: 2,
    State.RESOLVED: 3,
    State.CLOSED: 3,
}


def progress_steps(ticket):
    """Four plain steps for the progress bar; rejected and duplicate tickets show none."""
    current = _STEP_OF_STATE.get(ticket.state)
    if current is None:
        return []
    return [
        {"label": label, "done": index < current, "current": index == current}
        for index, (_s, label) in enumerate(PROGRESS)
    ]
