"""Reads about incidents."""

from django.core.cache import cache
from django.db.models import Q

from incidents.models import Failed, Incident
from tickets.models import Category, Ticket

OPEN_CACHE_KEY = "incidents:open"
OPEN_CACHE_SECONDS = 30


def matching_tickets(incident):
    """Reports whose attempt (stamping) or payment (purchase) falls in the incident's window."""
    conditions = Q()
    if incident.failed in (Failed.STAMPING, Failed.BOTH):
        window = Q(attempted_at__gte=incident.starts_at)
        if incident.ends_at is not None:
            window &= Q(attempted_at__lt=incident.ends_at)
        conditions |= Q(category=Category.STAMP_FAILED) & window
    if incident.failed in (Failed.PURCHASE, Failed.BOTH):
        window = Q(created_at__gte=incident.starts_at)
        if incident.ends_at is not None:
            window &= Q(created_at__lt=incident.ends_at)
        conditions |= Q(category=Category.PAID_NOT_CREDITED) & window
    return Ticket.objects.filter(conditions)


def incidents_for(ticket):
    """Incidents (declared already) whose window and failure cover this report."""
    found = []
    for incident in Incident.objects.all():
        if matching_tickets(incident).filter(pk=ticket.pk).exists():
            found.append(incident)
    return found


def open_incidents():
    """Open incidents as plain dicts, cached briefly (every applicant page reads them)."""
    found = cache.get(OPEN_CACHE_KEY)
    if found is None:
        found = [
            dict(
                pk=incident.pk,
                title=incident.title,
                notice_id=incident.notice_id,
                notice_en=incident.notice_en,
            )
            for incident in Incident.objects.open()
        ]
        cache.set(OPEN_CACHE_KEY, found, OPEN_CACHE_SECONDS)
    return found


def forget_open_incidents():
    cache.delete(OPEN_CACHE_KEY)


def linked_incidents(ticket):
    return list(Incident.objects.filter(links__ticket=ticket).order_by("-starts_at"))
