"""The applicant API (reports) and the staff ticket API."""

from django.urls import path

from tickets import staff_api

urlpatterns = []

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
        "tickets/<str:reference>/messages/",
        staff_api.TicketMessageView.as_view(),
        name="staff-ticket-messages",
    ),
]
