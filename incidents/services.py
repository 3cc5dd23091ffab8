"""Declaring incidents and linking the reports they explain."""

from django.db import transaction
from django.utils import timezone

from incidents import selectors
from incidents.models import Incident, IncidentTicket

BATCH = 2000


def link(*, incident):
    """Link every matching report (set-based, idempotent) and unlink those the window no longer covers.

    Returns the number of links the incident has afterwards."""
    matching = selectors.matching_tickets(incident)
    IncidentTicket.objects.filter(incident=incident).exclude(ticket__in=matching).delete()
    now = timezone.now()
    ids = matching.exclude(incident_links__incident=incident).values_list("pk", flat=True)
    batch = []
    for ticket_id in ids.iterator(chunk_size=BATCH):
        batch.append(IncidentTicket(incident=incident, ticket_id=ticket_id, linked_at=now))
        if len(batch) >= BATCH:
            IncidentTicket.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    IncidentTicket.objects.bulk_create(batch, ignore_conflicts=True)
    return IncidentTicket.objects.filter(incident=incident).count()


@transaction.atomic
def declare_incident(*, actor, **fields):
    """A supervisor declares an incident; reports already in its window are linked at once."""
    incident = Incident(declared_by=actor, declared_at=timezone.now(), **fields)
    incident.full_clean()
    incident.save()
    link(incident=incident)
    selectors.forget_open_incidents()
    transaction.on_commit(selectors.forget_open_incidents)
    return incident


@transaction.atomic
def update_window(*, incident, starts_at=None, ends_at=None, failed=None, end_now=False):
    """Change the window (or what failed) and relink; `end_now` closes an open incident now."""
    if starts_at is not None:
        incident.starts_at = starts_at
    if end_now:
        incident.ends_at = timezone.now()
    elif ends_at is not None:
        incident.ends_at = ends_at
    if failed is not None:
        incident.failed = failed
    incident.full_clean()
    incident.save()
    link(incident=incident)
    selectors.forget_open_incidents()
    transaction.on_commit(selectors.forget_open_incidents)
    return incident


def link_new_report(*, ticket):
    """At intake: link the report to every declared incident that covers it."""
    IncidentTicket.objects.bulk_create(
        [IncidentTicket(incident=incident, ticket=ticket) for incident in selectors.incidents_for(ticket)],
        ignore_conflicts=True,
    )
