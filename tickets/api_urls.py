"""The applicant API (reports) and the staff ticket API."""

from django.urls import path

from tickets import api, staff_api

urlpatterns = [
    # --- applicant API (issue 3): a report is reached by its reference and tracking token ---
    path("reports/", api.report_create, name="api-report-create"),
    path("reports/<str:reference>/", api.report_status, name="api-report-status"),
    path("reports/<str:reference>/messages/", api.report_message, name="api-report-messages"),
    path("reports/<str:reference>/confirm/", api.report_confirm, name="api-report-confirm"),
    path("reports/<str:reference>/reopen/", api.report_reopen, name="api-report-reopen"),
]

# --- staff API (issue 4) ---
urlpatterns += [
    path("auth/token/", staff_api.TokenLoginView.as_view(), name="api-token"),
    path("tickets/", staff_api.TicketListView.as_view(), name="staff-ticket-list"),
    path("tickets/<str:reference>/", staff_api.TicketDetailView.as_view(), name="staff-ticket-detail"),
    path(
        "tickets/<str:reference>/transitions/<str:name>/",
        staff_api.TransitionView.as_view(),
        name="staff-ticket-transition",
    ),
    path(
        "tickets/<str:reference>/evidence/<int:pk>/",
        staff_api.EvidenceFileView.as_view(),
        name="staff-ticket-evidence",
    ),
    path(
        "tickets/<str:reference>/messages/",
        staff_api.TicketMessageView.as_view(),
        name="staff-ticket-messages",
    ),
]
