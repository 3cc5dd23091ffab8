"""The satisfaction pages, mounted at /rate/ (see config/urls.py)."""

from django.urls import path

from notifications import satisfaction_views

urlpatterns = [
    path("<str:token>/", satisfaction_views.rate, name="csat"),
    path("<str:token>/stop/", satisfaction_views.opt_out, name="csat-opt-out"),
]
