"""Incidents in the admin: supervisors declare and change them, agents may look."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from incidents import selectors, services
from incidents.models import Incident
from tickets import roles


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["title", "starts_at", "ends_at", "failed", "auto_propose", "linked"]
    list_filter = ["failed"]
    search_fields = ["title"]
    readonly_fields = ["declared_by", "declared_at", "notice_version"]
    fields = [
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
