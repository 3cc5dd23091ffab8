"""Assisted intake in the console: a report taken for a caller, and a message-opened ticket completed.

The agent fills in the web form's fields; the report serializer (tickets.intake) checks them with the
form's and the API's rules and messages, and one service stores them (tickets.services.assisted).
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from desk.console.ticket_page import is_agent
from tickets import services
from tickets.exceptions import WorkflowError
from tickets.intake import ReportSerializer, plain_errors
from tickets.models import (
    Category,
    Language,
    PayoutMethod,
    PreferredChannel,
    RemedyPreference,
    Ticket,
)
from tickets.services.assisted import COMPLETABLE_STATES

BLANK = [("", "—")]


class AssistedReportForm(forms.Form):
    """The report's fields as inputs; every rule is the serializer's, so none is required here."""

    category = forms.ChoiceField(label=_("What happened"), choices=Category.choices, required=False)
    full_name = forms.CharField(label=_("Full name"), required=False)
    nik = forms.CharField(label="NIK", required=False)
    email = forms.CharField(label=_("Email"), required=False)
    whatsapp = forms.CharField(label=_("WhatsApp number"), required=False)
    platform_account_email = forms.CharField(label=_("Platform account email (if different)"), required=False)
    preferred_channel = forms.ChoiceField(
        label=_("Tell the caller the reference on"), choices=PreferredChannel.choices, required=False
    )
    language = forms.ChoiceField(label=_("Language"), choices=Language.choices, required=False)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    serial_numbers = forms.CharField(
        label=_("Serial numbers"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    quota_lost = forms.CharField(label=_("Stamps lost"), required=False)
    document_name = forms.CharField(label=_("Document"), required=False)
    attempted_at = forms.CharField(
        label=_("Attempted at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), required=False
    )
    order_id = forms.CharField(label=_("Order"), required=False)
    amount_paid = forms.CharField(label=_("Amount paid (rupiah)"), required=False)
    payment_channel = forms.CharField(label=_("Payment channel"), required=False)
    remedy_preference = forms.ChoiceField(
        label=_("Wants"), choices=BLANK + RemedyPreference.choices, required=False
    )
    payout_method = forms.ChoiceField(
        label=_("Payout to"), choices=BLANK + PayoutMethod.choices, required=False
    )
    payout_account = forms.CharField(label=_("Payout account"), required=False)
    payout_name = forms.CharField(label=_("Account holder"), required=False)


def _serializer_data(post, files, *, consent):
    """The posted report fields as a QueryDict, as the web form gives them (empty inputs are blank)."""
    fields = ReportSerializer().fields
    data = QueryDict(mutable=True)
    for name, values in post.lists():
        if name in fields and name not in ("evidence", "consent"):
            data.setlist(name, values)
    data["consent"] = "true" if consent else "false"
    if files.getlist("evidence"):
        data.setlist("evidence", files.getlist("evidence"))
    return data


def _checked(request, data, form, *, evidence_later):
    """The validated report, or None with the serializer's messages on the form."""
    serializer = ReportSerializer(data=data, context={"evidence_later": evidence_later})
    if serializer.is_valid():
        return dict(serializer.validated_data)
    for name, errors in plain_errors(serializer.errors).items():
        for error in errors:
            form.add_error(name if name in form.fields else None, error)
    return None


def _page(request, model_admin, form, *, ticket=None, status=200, consent_field=True):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": gettext("Complete %(reference)s into a report") % {"reference": ticket.reference}
        if ticket
        else gettext("Report for a caller"),
        "form": form,
        "ticket": ticket,
        "consent_field": consent_field,
        "evidence_errors": form.non_field_errors(),
    }
    return TemplateResponse(request, "admin/tickets/ticket/assisted.html", context, status=status)


def _agent(request):
    if not is_agent(request.user):
        raise PermissionDenied


def open_for_caller(request, model_admin):
    """GET: the empty form; POST: check it with the report's rules, open the report (channel phone)."""
    _agent(request)
    if request.method != "POST":
        form = AssistedReportForm(initial={"language": "id", "preferred_channel": "whatsapp"})
        return _page(request, model_admin, form)
    form = AssistedReportForm(request.POST)
    form.is_valid()
    request_evidence = request.POST.get("request_evidence") == "on"
    data = _serializer_data(request.POST, request.FILES, consent=request.POST.get("consent") == "on")
    report = _checked(request, data, form, evidence_later=request_evidence)
    if report is None:
        return _page(request, model_admin, form, status=400)
    evidence = report.pop("evidence", None) or []
    serials = report.pop("serial_numbers", None) or []
    try:
        ticket = services.open_for_caller(
            data=report,
            serial_numbers=serials,
            evidence=evidence,
            agent=request.user,
            request_evidence=request_evidence and not evidence,
        )
    except WorkflowError as exc:
        form.add_error(None, exc.message)
        return _page(request, model_admin, form, status=exc.http_status)
    messages.success(
        request,
        gettext("Report %(reference)s opened; the caller is sent the reference and link by %(channel)s.")
        % {"reference": ticket.reference, "channel": ticket.get_preferred_channel_display()},
    )
    return redirect("admin:tickets_ticket_change", ticket.pk)


def _ticket_values(ticket):
    values = {name: getattr(ticket, name) for name in AssistedReportForm.base_fields if hasattr(ticket, name)}
    values["serial_numbers"] = "\n".join(ticket.serials.values_list("value", flat=True))
    values["category"] = ""
    return {name: "" if value is None else value for name, value in values.items()}


def complete(request, model_admin, pk):
    """GET: the form with what the messages gave; POST: the ticket completed into a report."""
    _agent(request)
    ticket = get_object_or_404(Ticket, pk=pk)
    if ticket.category != Category.OTHER or ticket.state not in COMPLETABLE_STATES:
        messages.error(
            request, gettext("Only an open ticket of category “other” can be completed into a report.")
        )
        return redirect("admin:tickets_ticket_change", ticket.pk)
    if request.method != "POST":
        return _page(request, model_admin, AssistedReportForm(initial=_ticket_values(ticket)), ticket=ticket)
    form = AssistedReportForm(request.POST)
    form.is_valid()
    request_evidence = request.POST.get("request_evidence") == "on"
    # Consent was recorded when the applicant first wrote to us about this complaint (consent_at).
    data = _serializer_data(request.POST, request.FILES, consent=ticket.consent_at is not None)
    already = ticket.evidence.exists()
    report = _checked(request, data, form, evidence_later=request_evidence or already)
    if report is None:
        return _page(request, model_admin, form, ticket=ticket, status=400)
    evidence = report.pop("evidence", None) or []
    serials = report.pop("serial_numbers", None) or []
    try:
        ticket = services.complete_report(
            ticket=ticket,
            data=report,
            serial_numbers=serials,
            evidence=evidence,
            agent=request.user,
            request_evidence=request_evidence and not evidence,
        )
    except WorkflowError as exc:
        messages.error(request, exc.message)
        return redirect("admin:tickets_ticket_change", ticket.pk)
    messages.success(
        request,
        gettext("%(reference)s is now a report of category “%(category)s”.")
        % {"reference": ticket.reference, "category": ticket.get_category_display()},
    )
    return redirect("admin:tickets_ticket_change", ticket.pk)
