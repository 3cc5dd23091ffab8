"""The help-desk console: the ticket list agents work from, and the ticket page (see desk/console/ticket_page.py).

The list stays fast at a million tickets: exact keys are searched through their indexes (never
`LIKE '%...%'`), counts are estimated or capped, every column comes from the row or one join, and the
date drill-down never scans the table.
"""

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.urls import path
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from desk.console import assisted
from desk.console import ticket_page as console
from desk.console.ticket_page import erasure_waits_message, sla_badge, state_badge
from desk.console.verification import outcome_badge, verification_or_none
from tickets import selectors, services
from tickets.exceptions import WorkflowError
from tickets.masking import mask_nik
from tickets.models import State, Ticket
from verification.models import Outcome

SHORT_CATEGORY = {
    "stamp_failed": _("Stamping failed"),
    "paid_not_credited": _("Paid, not credited"),
    "other": _("Other"),
}


class CappedCountPaginator(Paginator):
    """A paginator whose count is the planner's estimate (whole table) or stops at 10,000 rows."""

    @cached_property
    def count(self):
        return selectors.estimated_count(self.object_list)


# Parameters that keep the default view: sorting and paging it is still "my queue".
VIEW_NEUTRAL_PARAMS = {"o", "p", "view"}


def default_view_applies(request):
    """No filter or search chosen: the list opens on the agent's queue."""
    return not (set(request.GET) - VIEW_NEUTRAL_PARAMS)


def current_view(request):
    view = request.GET.get("view", "")
    if view in selectors.QUEUE_VIEWS:
        return view
    return "queue" if default_view_applies(request) else "all"


class QueueViewFilter(admin.SimpleListFilter):
    """The saved views (shown as links above the list); with no filter chosen the list is "my queue"."""

    title = _("view")
    parameter_name = "view"

    def lookups(self, request, model_admin):
        return [(name, label) for name, (label, _oldest) in selectors.QUEUE_VIEWS.items()]

    def choices(self, changelist):
        active = current_view(self.request)
        for name, label in self.lookup_choices:
            yield {
                "selected": name == active,
                "query_string": changelist.get_query_string({self.parameter_name: name}),
                "display": label,
            }

    def __init__(self, request, params, model, model_admin):
        self.request = request
        super().__init__(request, params, model, model_admin)

    def queryset(self, request, queryset):
        condition = selectors.queue_view_q(current_view(request), request.user)
        return queryset if condition is None else queryset.filter(condition)


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        choices = [("me", _("Mine")), ("none", _("Unassigned"))]
        return choices + [(str(user.pk), user.get_username()) for user in console.agents()]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assigned_to=request.user)
        if value == "none":
            return queryset.filter(assigned_to=None)
        if value and value.isdigit():
            return queryset.filter(assigned_to_id=int(value))
        return queryset


class SlaFilter(admin.SimpleListFilter):
    title = _("SLA")
    parameter_name = "sla"

    def lookups(self, request, model_admin):
        return [("breached", _("Breached")), ("ok", _("Within SLA"))]

    def queryset(self, request, queryset):
        if self.value() == "breached":
            return queryset.filter(selectors.sla_breached_q())
        if self.value() == "ok":
            return queryset.filter(selectors.sla_ok_q())
        return queryset


class DuplicateFilter(admin.SimpleListFilter):
    title = _("duplicate")
    parameter_name = "dup"

    def lookups(self, request, model_admin):
        return [("possible", _("Possible duplicate")), ("marked", _("Marked duplicate"))]

    def queryset(self, request, queryset):
        if self.value() == "possible":
            return queryset.filter(possible_duplicate=True)
        if self.value() == "marked":
            return queryset.filter(state=State.DUPLICATE)
        return queryset


class VerificationFilter(admin.SimpleListFilter):
    title = _("platform verification")
    parameter_name = "verified"

    def lookups(self, request, model_admin):
        return [*Outcome.choices, ("duplicate", _("Same serial number or order as another ticket"))]

    def queryset(self, request, queryset):
        if self.value() in Outcome.values:
            return queryset.filter(verification__outcome=self.value())
        if self.value() == "duplicate":
            return queryset.filter(verification__duplicate_of__isnull=False)
        return queryset


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "state_column",
        "category_column",
        "applicant_column",
        "age_column",
        "sla_column",
        "assigned_to",
        "verification_column",
    ]
    list_display_links = ["reference"]
    list_filter = [
        QueueViewFilter,
        "state",
        "category",
        VerificationFilter,
        AssigneeFilter,
        SlaFilter,
        "channel",
        DuplicateFilter,
    ]
    search_fields = ["reference"]  # shows the box; get_search_results decides which index to use
    search_help_text = _(
        "Reference, NIK, WhatsApp number (any spelling), email, serial number, or the start of a name."
    )
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    list_select_related = ["assigned_to", "verification"]
    list_per_page = 50
    show_full_result_count = False
    paginator = CappedCountPaginator
    actions = ["erase_personal_data_action"]

    # --- list columns ---------------------------------------------------------------------------

    @admin.display(description=_("state"), ordering="state")
    def state_column(self, ticket):
        """The state, and under it what needs the agent's eye: the applicant wrote, a possible duplicate."""
        marks = []
        if ticket.applicant_replied_at is not None:
            marks.append(
                format_html(
                    '<span class="replied" title="{}">{}</span>',
                    gettext("The applicant wrote since the ticket was last opened"),
                    gettext("Applicant replied"),
                )
            )
        if ticket.possible_duplicate and ticket.state != State.DUPLICATE:
            marks.append(format_html('<span class="dup">{}</span>', gettext("possible duplicate")))
        return format_html(
            "{}{}", state_badge(ticket), format_html_join("", "<br>{}", [(mark,) for mark in marks])
        )

    @admin.display(description=_("category"), ordering="category")
    def category_column(self, ticket):
        return format_html(
            '<span class="category">{}</span>', SHORT_CATEGORY.get(ticket.category, ticket.category)
        )

    @admin.display(description=_("applicant"))
    def applicant_column(self, ticket):
        return format_html("{}<br><small class='nik'>NIK {}</small>", ticket.full_name, mask_nik(ticket.nik))

    @admin.display(description=_("age"), ordering="created_at")
    def age_column(self, ticket):
        return timesince(ticket.created_at, depth=1)

    @admin.display(description=_("SLA"))
    def sla_column(self, ticket):
        return sla_badge(ticket)

    @admin.display(description=_("platform"))
    def verification_column(self, ticket):
        return outcome_badge(verification_or_none(ticket))

    # --- search and permissions -----------------------------------------------------------------

    def get_ordering(self, request):
        """The worked views list the oldest first (first come, first served); "all" the newest."""
        _label, oldest_first = selectors.QUEUE_VIEWS[current_view(request)]
        return ["created_at", "id"] if oldest_first else ["-created_at", "-id"]

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(selectors.search_q(search_term)), False

    def has_add_permission(self, request):
        return False  # tickets come from reports, WhatsApp and email, never typed in here

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not console.is_agent(request.user):
            actions.pop("erase_personal_data_action", None)
        return actions

    @admin.action(description=_("Erase personal data now (applicant's erasure request)"))
    def erase_personal_data_action(self, request, queryset):
        erased = waiting = 0
        for ticket in queryset.filter(erased_at=None):
            try:
                done = services.erase_personal_data(
                    ticket=ticket, actor=request.user, note=gettext("Erasure request")
                )
            except WorkflowError as exc:
                self.message_user(request, f"{ticket.reference}: {exc.message}", messages.ERROR)
                continue
            if done is not None and done.erased_at is None:
                waiting += 1
            else:
                erased += 1
        self.message_user(
            request, gettext("Personal data erased from %d tickets.") % erased, messages.SUCCESS
        )
        if waiting:
            self.message_user(request, erasure_waits_message(waiting), messages.WARNING)

    # --- the ticket page and its buttons --------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("next/", wrap(console.next_ticket), name="tickets_ticket_next"),
            path("caller/", wrap(self.report_for_caller), name="tickets_ticket_caller"),
            path("<int:pk>/complete/", wrap(self.complete_report), name="tickets_ticket_complete"),
            path(
                "<int:pk>/transition/<str:name>/",
                wrap(console.transition),
                name="tickets_ticket_transition",
            ),
            path("<int:pk>/reply/", wrap(console.reply), name="tickets_ticket_reply"),
            path("<int:pk>/assign/", wrap(console.assign), name="tickets_ticket_assign"),
            path("<int:pk>/erase/", wrap(console.erase), name="tickets_ticket_erase"),
            *super().get_urls(),
        ]

    def report_for_caller(self, request):
        return assisted.open_for_caller(request, self)

    def complete_report(self, request, pk):
        return assisted.complete(request, self, pk)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """The ticket page is read-mostly: it shows everything and changes things only through buttons."""
        if not object_id.isdigit():
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        return console.ticket_page(request, self, int(object_id))

    def changelist_view(self, request, extra_context=None):
        active = current_view(request)
        extra_context = {
            "title": gettext("Tickets"),
            **(extra_context or {}),
            "queue_views": [
                {"name": name, "label": label, "active": name == active}
                for name, (label, _oldest) in selectors.QUEUE_VIEWS.items()
            ],
            "can_claim": console.is_agent(request.user),
            "can_see_dashboard": console.is_supervisor(request.user),
        }
        return super().changelist_view(request, extra_context)
