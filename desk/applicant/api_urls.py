"""The applicant API: a report is reached by its reference and its tracking token."""

from django.urls import path

from desk.applicant import api

urlpatterns = [
    path("reports/", api.report_create, name="api-report-create"),
    path("reports/<str:reference>/", api.report_status, name="api-report-status"),
    path("reports/<str:reference>/messages/", api.report_message, name="api-report-messages"),
    path("reports/<str:reference>/confirm/", api.report_confirm, name="api-report-confirm"),
    path("reports/<str:reference>/reopen/", api.report_reopen, name="api-report-reopen"),
]
