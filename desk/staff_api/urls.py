"""The staff API: token login, tickets and their transitions and messages, remedies approval and export."""

from django.urls import path

from desk.staff_api import remedies, tickets

urlpatterns = [
    path("auth/token/", tickets.TokenLoginView.as_view(), name="api-token"),
    path("tickets/", tickets.TicketListView.as_view(), name="staff-ticket-list"),
    path("tickets/<str:reference>/", tickets.TicketDetailView.as_view(), name="staff-ticket-detail"),
    path(
        "tickets/<str:reference>/transitions/<str:name>/",
        tickets.TransitionView.as_view(),
        name="staff-ticket-transition",
    ),
    path(
        "tickets/<str:reference>/evidence/<int:pk>/",
        tickets.EvidenceFileView.as_view(),
        name="staff-ticket-evidence",
    ),
    path(
        "tickets/<str:reference>/messages/",
        tickets.TicketMessageView.as_view(),
        name="staff-ticket-messages",
    ),
    path("remedies/approve/", remedies.BulkApprovalView.as_view(), name="remedies-approve"),
    path("remedies/export/", remedies.ExportView.as_view(), name="remedies-export"),
]
