"""The applicant's pages: landing, report form, confirmation and status."""

from django.shortcuts import render


def landing(request):
    return render(request, "tickets/landing.html")
