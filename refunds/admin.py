"""Remedies in Django admin: the supervisors' approval queue, read-only remedies, ledger and mismatches.

Actions call the same services as the API (`approve_remedies`, `tickets.services.send_back`), so four
eyes, locks, the log and the outbox apply here too.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Prefetch
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from refunds.models import LedgerEntry, ReconciliationMismatch, Remedy, RemedyAwaitingApproval
from refunds.services import approve_remedies
from tickets import roles
from tickets import services as tickets
from tickets.admin import ReadOnlyAdmin
from tickets.exceptions import WorkflowError
from tickets.masking import mask
from tickets.models import Evidence, State, Ticket


def ticket_link(obj):
    url = reverse("admin:tickets_ticket_change", args=[obj.ticket_id])
    return format_html('<a href="{}" style="white-space: nowrap">{}</a>', url, obj.ticket.reference)


ticket_link.short_description = _("ticket")


class SendBackForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=2000,
        help_text=_("The agent sees this reason on the ticket."),
    )


def now_in(references):
    """The tickets grouped by the state they are really in now (approved, or resolved already)."""
    states = dict(Ticket.objects.filter(reference__in=references).values_list("reference", "state"))
    labels = dict(State.choices)
    groups = {}
    for reference in references:
        groups.setdefault(states.get(reference), []).append(reference)
    return "; ".join(
        _("%(tickets)s now “%(state)s”") % {"tickets": ", ".join(refs), "state": labels.get(state, state)}
        for state, refs in groups.items()
    )


@admin.register(RemedyAwaitingApproval)
class ApprovalQueueAdmin(ReadOnlyAdmin):
    """Proposals waiting for a supervisor, oldest first; approve or send back, one by one or in bulk."""

    list_display = ["id", ticket_link, "evidence", "claim", "kind", "figure", "proposed_by", "age", "note"]
    list_filter = ["kind"]
    search_fields = ["=ticket__reference", "proposed_by__username"]
    list_select_related = ["ticket", "proposed_by"]
    ordering = ["proposed_at", "id"]
    actions = ["approve_selected", "send_back_selected"]
    list_per_page = 100

    def has_module_permission(self, request):
        return roles.is_supervisor(None, request.user)

    def has_view_permission(self, request, obj=None):
        return roles.is_supervisor(None, request.user)

    def has_supervise_permission(self, request):
        return roles.is_supervisor(None, request.user)

    def get_queryset(self, request):
        """The claim's screenshots and serial numbers come in two queries for the whole page."""
        return (
            super()
            .get_queryset(request)
            .prefetch_related(
                Prefetch(
                    "ticket__evidence",
                    queryset=Evidence.objects.exclude(source=Evidence.Source.STAFF).order_by("id"),
                    to_attr="claim_evidence",
                ),
                Prefetch("ticket__serials", to_attr="claim_serials"),
            )
        )

    @admin.display(description=_("evidence"))
    def evidence(self, obj):
        shown = obj.ticket.claim_evidence[:2]
        if not shown:
            return "—"
        return format_html_join(
            " ",
            '<a href="{}" target="_blank" rel="noopener"><img src="{}?thumb=1" alt="{}" class="claim-thumb"'
            ' style="height:64px;border:1px solid #ccc;border-radius:3px"></a>',
            (
                (
                    reverse("evidence-file", args=[item.pk]),
                    reverse("evidence-file", args=[item.pk]),
                    item.original_name,
                )
                for item in shown
            ),
        )

    @admin.display(description=_("the claim"))
    def claim(self, obj):
        """The facts a supervisor checks the proposal against, from the report."""
        ticket = obj.ticket
        facts = []
        if ticket.quota_lost:
            facts.append(_("%(count)s stamps lost") % {"count": ticket.quota_lost})
        serials = [serial.value for serial in ticket.claim_serials]
        if serials:
            facts.append(
                _("serial %(first)s") % {"first": serials[0]}
                + (f" +{len(serials) - 1}" if len(serials) > 1 else "")
            )
        if ticket.order_id:
            facts.append(_("order %(order)s") % {"order": ticket.order_id})
        if ticket.amount_paid:
            facts.append(_("paid Rp %(amount)s") % {"amount": f"{ticket.amount_paid:,}".replace(",", ".")})
        if ticket.platform_account_email:
            facts.append(ticket.platform_account_email)
        if ticket.possible_duplicate:
            facts.append(_("possible duplicate"))
        return format_html_join(mark_safe("<br>"), "<small>{}</small>", ((fact,) for fact in facts)) or "—"

    @admin.display(description=_("quantity / amount"))
    def figure(self, obj):
        return obj.describe()

    @admin.display(description=_("waiting"), ordering="proposed_at")
    def age(self, obj):
        return timesince(obj.proposed_at)

    @admin.action(description=_("Approve selected remedies"), permissions=["supervise"])
    def approve_selected(self, request, queryset):
        ids = list(queryset.order_by("proposed_at", "id").values_list("pk", flat=True))
        references = dict(Remedy.objects.filter(pk__in=ids).values_list("pk", "ticket__reference"))
        results = approve_remedies(ids=ids, actor=request.user)
        approved = [references[result.id] for result in results if result.ok]
        if approved:
            message = ngettext(
                "%(count)d remedy approved: %(tickets)s",
                "%(count)d remedies approved: %(tickets)s",
                len(approved),
            ) % {"count": len(approved), "tickets": now_in(approved)}
            self.message_user(request, message, messages.SUCCESS)
        for result in results:
            if not result.ok:
                self.message_user(
                    request,
                    _("%(ticket)s not approved: %(error)s")
                    % {"ticket": references.get(result.id, result.id), "error": result.error},
                    messages.ERROR,
                )

    @admin.action(description=_("Send selected remedies back to the agent"), permissions=["supervise"])
    def send_back_selected(self, request, queryset):
        form = SendBackForm(request.POST if "send_back" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            for remedy in queryset.select_related("ticket"):
                try:
                    tickets.fire("send_back", ticket=remedy.ticket, actor=request.user, reason=reason)
                except WorkflowError as exc:
                    self.message_user(
                        request,
                        _("%(ticket)s not sent back: %(error)s")
                        % {"ticket": remedy.ticket.reference, "error": exc.message},
                        messages.ERROR,
                    )
                else:
                    self.message_user(
                        request,
                        _("%(ticket)s sent back.") % {"ticket": remedy.ticket.reference},
                        messages.SUCCESS,
                    )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Send back to the agent"),
            "opts": self.model._meta,
            "form": form,
            "remedies": queryset.select_related("ticket", "proposed_by"),
            "action_name": "send_back_selected",
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/refunds/send_back.html", context)


@admin.register(Remedy)
class RemedyAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        ticket_link,
        "kind",
        "state",
        "quantity",
        "amount",
        "proposed_by",
        "approved_by",
        "applied_at",
    ]
    list_filter = ["state", "kind"]
    search_fields = ["=ticket__reference", "provider_reference"]
    list_select_related = ["ticket", "proposed_by", "approved_by"]
    exclude = ["payout_account"]
    readonly_fields = ["masked_payout_account", "idempotency_key"]

    @admin.display(description=_("payout account"))
    def masked_payout_account(self, obj):
        return mask(obj.payout_account)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "remedy", "kind", "quantity", "amount", "gateway", "provider_reference"]
    list_filter = ["kind", "gateway"]
    search_fields = ["=ticket__reference", "provider_reference"]
    list_select_related = ["remedy", "remedy__ticket"]
    date_hierarchy = "created_at"


@admin.register(ReconciliationMismatch)
class ReconciliationMismatchAdmin(ReadOnlyAdmin):
    list_display = ["day", "problem", "remedy", "detail", "found_at"]
    list_filter = ["problem", "day"]
    list_select_related = ["remedy", "remedy__ticket"]
