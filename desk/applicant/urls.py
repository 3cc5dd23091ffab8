"""The applicant's pages, and the evidence files behind their access checks."""

from django.urls import path

from desk.applicant import pages as views
from desk.applicant.report_wizard import ReportWizard

urlpatterns = [
    path("", views.landing, name="landing"),
    path("report/", ReportWizard.as_view(), name="report"),
    path("report/<str:reference>/sent/", views.report_sent, name="report-sent"),
    path("status/", views.lost_link, name="lost-link"),
    path("status/<str:reference>/", views.status, name="status"),
    path("status/<str:reference>/reply/", views.status_reply, name="status-reply"),
    path("status/<str:reference>/confirm/", views.status_confirm, name="status-confirm"),
    path("status/<str:reference>/reopen/", views.status_reopen, name="status-reopen"),
    path("status/<str:reference>/evidence/<int:pk>/", views.status_evidence, name="status-evidence"),
    path("evidence/<int:pk>/", views.evidence_file, name="evidence-file"),
]
