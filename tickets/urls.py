"""The applicant's pages."""

from django.urls import path

from tickets import views

urlpatterns = [
    path("", views.landing, name="landing"),
]
