"""Incidents in the admin: supervisors declare and change them, agents may look."""

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from incidents import selectors, services
from incidents.models import Incident
from tickets import roles


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["title", "starts_at", "ends_at", "failed", "auto_propose", "linked"]
    list_filter = ["failed"]
    search_fields = ["title"]
    readonly_fields = ["declared_by", "declared_at", "notice_version"]
    fieldsets = [
        (
            _("Declaration"),
            {
                "fields": [
                    "title",
                    "starts_at",
                    "ends_at",
                    "failed",
                    "notice_id",
                    "notice_en",
                    "auto_propose",
                    "declared_by",
                    "declared_at",
                    "notice_version",
                ]
            },
        )
    ]

    actions = ["approve_confirmed"]

    @admin.display(description=_("linked reports"))
    def linked(self, obj):
        return obj.links.count()

    def has_module_permission(self, request):
        return roles.is_agent(None, request.user) or roles.is_supervisor(None, request.user)

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return roles.is_supervisor(None, request.user)

    def has_change_permission(self, request, obj=None):
        return roles.is_supervisor(None, request.user)

    def has_delete_permission(self, request, obj=None):
        return False  # an incident is ended (window end), never deleted: its links are the record

    def save_model(self, request, obj, form, change):
        if not change:
            obj.declared_by = request.user
        if change and {"notice_id", "notice_en"} & set(form.changed_data):
            obj.notice_version += 1
        obj.save()
        if not change or {"starts_at", "ends_at", "failed"} & set(form.changed_data):
            services.link(incident=obj)
        selectors.forget_open_incidents()

    def get_urls(self):
        return [
            path(
                "<int:pk>/send-notice/",
                self.admin_site.admin_view(require_POST(self.send_notice_view)),
                name="incidents_incident_send_notice",
            ),
            path(
                "<int:pk>/approve-confirmed/",
                self.admin_site.admin_view(require_POST(self.approve_confirmed_view)),
                name="incidents_incident_approve_confirmed",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        incident = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if incident is not None:
            extra.update(
                figures=selectors.figures(incident),
                bulk_approvals=incident.bulk_approvals.select_related("started_by")[:5],
                can_approve=roles.is_supervisor(None, request.user),
                approve_url=reverse("admin:incidents_incident_approve_confirmed", args=[incident.pk]),
                notice_runs=[
                    selectors.notice_progress(run)
                    for run in incident.notice_runs.select_related("started_by")[:5]
                ],
                send_notice_url=reverse("admin:incidents_incident_send_notice", args=[incident.pk]),
                export_url=self._export_url(request, incident),
            )
        return super().change_view(request, object_id, form_url, extra)

    def _export_url(self, request, incident):
        """The finance export (staff API) of the incident's remedies, for those who may export."""
        if not request.user.has_perm(roles.FINANCE_PERMISSION):
            return None
        first, last = selectors.export_period(incident)
        query = urlencode({"incident": incident.pk, "from": first, "to": last})
        return f"{reverse('remedies-export')}?{query}"

    def _start(self, request, incident):
        job = services.start_bulk_approval(incident=incident, actor=request.user)
        self.message_user(
            request,
            ngettext(
                "Approving %(count)d confirmed proposal of “%(title)s” in the background.",
                "Approving %(count)d confirmed proposals of “%(title)s” in the background.",
                job.total,
            )
            % {"count": job.total, "title": incident.title},
            messages.SUCCESS,
        )

    def approve_confirmed_view(self, request, pk):
        if not roles.is_supervisor(None, request.user):
            raise PermissionDenied
        incident = get_object_or_404(Incident, pk=pk)
        self._start(request, incident)
        return redirect("admin:incidents_incident_change", incident.pk)

    def send_notice_view(self, request, pk):
        if not roles.is_supervisor(None, request.user):
            raise PermissionDenied
        incident = get_object_or_404(Incident, pk=pk)
        services.start_notice(incident=incident, actor=request.user)
        self.message_user(
            request,
            gettext("Sending the notice to the applicants of “%(title)s”.") % {"title": incident.title},
        )
        return redirect("admin:incidents_incident_change", incident.pk)

    @admin.action(description=_("Approve all confirmed proposals"), permissions=["change"])
    def approve_confirmed(self, request, queryset):
        if not roles.is_supervisor(None, request.user):
            self.message_user(request, gettext("Only a supervisor may approve."), messages.ERROR)
            return
        for incident in queryset:
            self._start(request, incident)
