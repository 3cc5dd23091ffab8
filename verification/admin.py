"""The platform's loaded records in the admin, and the supervisors' upload of an export."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from tickets import roles
from tickets.admin import ReadOnlyAdmin
from verification.imports import ExportError, import_records
from verification.models import PlatformOrder, PlatformStamping

SHOWN_ERRORS = 20


class ExportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Export file (CSV)"),
        help_text=_("A stamping or order export of the platform; the header row tells which."),
    )


class PlatformRecordAdmin(ReadOnlyAdmin):
    """Read-only: rows come from the exports (upload here, or `import_platform_records`)."""

    change_list_template = "admin/verification/change_list.html"
    show_full_result_count = False

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_upload"
        return [
            path("upload/", self.admin_site.admin_view(self.upload), name=name),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra = {"can_upload": roles.is_supervisor(None, request.user), **(extra_context or {})}
        return super().changelist_view(request, extra)

    def upload(self, request):
        if not roles.is_supervisor(None, request.user):
            raise PermissionDenied
        form = ExportUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                result = import_records(form.cleaned_data["file"].file)
            except ExportError as exc:
                form.add_error("file", str(exc))
            else:
                self._report(request, result)
                return redirect(f"admin:verification_platform{result.kind}_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Upload a platform export"),
            "form": form,
        }
        return TemplateResponse(request, "admin/verification/upload.html", context)

    def _report(self, request, result):
        messages.success(
            request,
            gettext("%(loaded)d %(kind)s records loaded; %(tickets)d tickets will be verified again.")
            % {"loaded": result.loaded, "kind": result.kind, "tickets": result.reverified},
        )
        if result.error_count:
            lines = "; ".join(
                gettext("line %(line)d: %(message)s") % {"line": line, "message": message}
                for line, message in result.errors[:SHOWN_ERRORS]
            )
            messages.warning(
                request,
                gettext("%(count)d malformed rows were refused (the rest loaded): %(lines)s")
                % {"count": result.error_count, "lines": lines},
            )


@admin.register(PlatformStamping)
class PlatformStampingAdmin(PlatformRecordAdmin):
    list_display = ["serial_number", "account", "status", "quota_restored", "attempted_at", "loaded_at"]
    list_filter = ["status", "quota_restored"]
    search_fields = ["=serial_number", "=account"]


@admin.register(PlatformOrder)
class PlatformOrderAdmin(PlatformRecordAdmin):
    list_display = ["order_id", "account", "status", "amount", "quantity", "quota_credited", "paid_at"]
    list_filter = ["status"]
    search_fields = ["=order_id", "=account"]
