"""Links to a ticket that the applicant follows: the status page with its tracking token."""

from django.conf import settings


def tracking_url(ticket):
    return f"{settings.PUBLIC_BASE_URL}/status/{ticket.reference}/?token={ticket.tracking_token}"
