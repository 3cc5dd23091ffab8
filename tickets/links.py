"""Links to a ticket that the applicant follows: the status page with its tracking token."""

from urllib.parse import urlencode

from django.conf import settings


def tracking_url(ticket):
    return f"{settings.PUBLIC_BASE_URL}/status/{ticket.reference}/?token={ticket.tracking_token}"


def report_form_url(*, name="", email=""):
    """The web report form, prefilled with the name and address a message already gave."""
    query = urlencode({key: value for key, value in {"name": name, "email": email}.items() if value})
    return f"{settings.PUBLIC_BASE_URL}/report/" + (f"?{query}" if query else "")
