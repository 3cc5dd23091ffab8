"""The console's own pages beside the admin's: the dashboard and its CSV exports."""

from django.contrib import admin
from django.urls import path

from desk.console.dashboard import dashboard, dashboard_csv

urlpatterns = [
    path("", admin.site.admin_view(dashboard), name="dashboard"),
    path("<slug:slug>.csv", admin.site.admin_view(dashboard_csv), name="dashboard-csv"),
]
