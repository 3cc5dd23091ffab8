"""The applicant's pages: landing, report form, confirmation and status; evidence files for token and staff.

The form goes through the same intake as the API (`tickets.intake.receive_report`), with a hidden
idempotency key so that a double tap or a resent form creates one ticket.
"""

import functools
import uuid

from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from desk.applicant import tracking
from desk.applicant.api import ApplicantMessageSerializer
from desk.applicant.report_page import HONEYPOT_FIELD, ReportPage, form_data
from notifications.conversation import add_applicant_message, applicant_reopen
from tickets import kept_evidence, ratelimit, roles, services, tasks
from tickets.exceptions import WorkflowError
from tickets.intake import plain_errors, receive_report
from tickets.links import tracking_url
from tickets.models import Evidence, State

FORM_ONLY_FIELDS = ("csrfmiddlewaretoken", "submission_key", "kept_evidence", HONEYPOT_FIELD)


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
    tasks.resend_tracking_link.delay(values["reference"], values["contact"])
    return render(request, "tickets/lost_link.html", {"values": values, "sent": True})


@never_cache
@require_http_methods(["GET", "POST"])
def report(request):
    if request.method == "GET":
        page = ReportPage(values={"language": get_language() or "id"}, submission_key=uuid.uuid4().hex)
        return render(request, "tickets/report.html", {"page": page})

    submission_key = request.POST.get("submission_key", "")[:64] or uuid.uuid4().hex
    values = {key: value for key, value in request.POST.items() if key not in FORM_ONLY_FIELDS}
    if request.POST.get(HONEYPOT_FIELD):
        page = ReportPage(values=values, submission_key=submission_key)
        page.add_summary(_("The report could not be sent. Please try again."))
        return render(request, "tickets/report.html", {"page": page}, status=400)

    old_key = request.POST.get("kept_evidence", "")[:64]
    kept = [] if request.FILES.getlist("evidence") else kept_evidence.kept(old_key)
    outcome = receive_report(
        request=request,
        data=form_data(request.POST, request.FILES, exclude=FORM_ONLY_FIELDS),
        files=request.FILES,
        idempotency_key=f"form:{submission_key}",
        kept_evidence=kept,
    )
    if not outcome.errors or outcome.evidence:
        kept_evidence.discard(old_key)  # sent, or kept again below under a new key
    if not outcome.errors:
        query = urlencode({"token": outcome.body["tracking_token"]})
        return redirect(reverse("report-sent", kwargs={"reference": outcome.ticket_reference}) + "?" + query)

    errors = outcome.errors
    if outcome.status == 422:  # the same form was already sent with other values: start a new one
        submission_key = uuid.uuid4().hex
        errors = {
            "non_field_errors": [
                _("This form was sent already. Check it and send it again for a new report.")
            ]
        }
    kept_key, kept_names = kept_evidence.keep(outcome.evidence) if outcome.evidence else ("", [])
    page = ReportPage(
        values=values, errors=errors, submission_key=submission_key, kept_key=kept_key, kept_names=kept_names
    )
    response = render(request, "tickets/report.html", {"page": page}, status=outcome.status)
    if outcome.retry_after is not None:
        response["Retry-After"] = str(outcome.retry_after)
    return response


@tracked_page
@never_cache
def report_sent(request, reference):
    ticket = tracking.find_tracked_ticket(reference, tracking.token_from(request))
    context = {"ticket": ticket, "status_path": tracking.status_path(ticket)}
    return render(request, "tickets/report_sent.html", context)


@tracked_page
@never_cache
def status(request, reference):
    ticket = tracking.find_tracked_ticket(reference, tracking.token_from(request))
    return _status_page(request, ticket)


def _status_page(request, ticket, *, reply_errors=None, response_status=200):
    status = tracking.ticket_status(ticket)
    context = {
        "ticket": ticket,
        "status": status,
        "conversation": conversation(ticket, status["messages"]),
        "token": ticket.tracking_token,
        "reply_errors": reply_errors or {},
        "done": request.GET.get("done", ""),
        "steps": progress_steps(ticket),
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
    add_applicant_message(
        ticket=ticket,
        body=serializer.validated_data.get("body", "").strip(),
        evidence=serializer.validated_data.get("evidence") or [],
    )
    return redirect(tracking.status_path(ticket) + "&done=reply")


@tracked_page
@require_POST
def status_confirm(request, reference):
    ticket = tracking.find_tracked_ticket(reference, tracking.token_from(request))
    try:
        services.fire("confirm", ticket=ticket, actor=roles.APPLICANT)
    except WorkflowError as exc:
        return _status_page(request, ticket, reply_errors={"confirm": [exc.message]}, response_status=409)
    return redirect(tracking.status_path(ticket) + "&done=confirm")


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
    return redirect(tracking.status_path(ticket) + "&done=reopen")


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
