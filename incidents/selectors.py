"""Reads about incidents."""

import math
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from incidents.models import Failed, Incident, IncidentNotice
from refunds.models import LedgerEntry, Remedy, RemedyKind, RemedyState
from tickets.models import Category, State, Ticket
from verification.models import Outcome

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


def _moment(incident, ticket):
    """The time that places the report in an incident's window, or None if its category does not match."""
    if ticket.category == Category.STAMP_FAILED and incident.failed in (Failed.STAMPING, Failed.BOTH):
        return ticket.attempted_at
    if ticket.category == Category.PAID_NOT_CREDITED and incident.failed in (Failed.PURCHASE, Failed.BOTH):
        return ticket.created_at
    return None


def incidents_for(ticket):
    """Incidents (declared already) whose window and failure cover this report (one query)."""
    moments = [moment for moment in (ticket.attempted_at, ticket.created_at) if moment is not None]
    if not moments:
        return []
    found = []
    for incident in Incident.objects.filter(starts_at__lte=max(moments)):
        moment = _moment(incident, ticket)
        if (
            moment is not None
            and incident.starts_at <= moment
            and (incident.ends_at is None or moment < incident.ends_at)
        ):
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


def linked(incident):
    return Ticket.objects.filter(incident_links__incident=incident)


def confirmed_system_proposals(incident):
    """The system's proposals, still waiting for approval, of the incident's platform-confirmed reports."""
    return Remedy.objects.filter(
        ticket__incident_links__incident=incident,
        ticket__verification__outcome=Outcome.CONFIRMED,
        state=RemedyState.PROPOSED,
        proposed_by=None,
    )


EXPORT_DAYS = 366  # the remedies export's longest period (desk.staff_api.remedies.MAX_EXPORT_DAYS)


def export_period(incident, today=None):
    """The days the incident's remedies export covers: its first day to today, within the longest period."""
    first = timezone.localtime(incident.starts_at).date()
    last = min(today or timezone.localdate(), first + timedelta(days=EXPORT_DAYS - 1))
    return first, max(first, last)


def _percentile(values, fraction):
    """Nearest-rank percentile of sorted values."""
    if not values:
        return None
    rank = max(1, math.ceil(fraction * len(values)))
    return values[rank - 1]


def figures(incident):
    """What the incident's admin page shows: links by state and by outcome, what was restored and
    refunded so far, and the time from report to remedy (applied) — median and 90th percentile."""

    tickets = linked(incident)
    state_labels = dict(State.choices)
    by_state = [
        (state_labels.get(row["state"], row["state"]), row["n"])
        for row in tickets.values("state").annotate(n=Count("id")).order_by("state")
    ]
    outcome_labels = dict(Outcome.choices)
    by_outcome = [
        (outcome_labels.get(row["verification__outcome"], _("Not verified")), row["n"])
        for row in tickets.values("verification__outcome")
        .annotate(n=Count("id"))
        .order_by("verification__outcome")
    ]
    ledger = LedgerEntry.objects.filter(ticket__incident_links__incident=incident).aggregate(
        stamps=Sum("quantity", filter=Q(kind=RemedyKind.QUOTA), default=0),
        rupiah=Sum("amount", filter=Q(kind=RemedyKind.REFUND), default=0),
    )
    durations = sorted(
        (applied_at - created_at).total_seconds()
        for created_at, applied_at in tickets.filter(
            remedies__state=RemedyState.APPLIED, remedies__applied_at__isnull=False
        ).values_list("created_at", "remedies__applied_at")
    )
    return dict(
        total=tickets.count(),
        by_state=by_state,
        by_outcome=by_outcome,
        stamps_restored=ledger["stamps"],
        rupiah_refunded=ledger["rupiah"],
        remedied=len(durations),
        median=_duration(_percentile(durations, 0.5)),
        p90=_duration(_percentile(durations, 0.9)),
        waiting=confirmed_system_proposals(incident).count(),
    )


def _duration(seconds):
    return None if seconds is None else timedelta(seconds=round(seconds))


def not_approved(remedy_ids):
    """Of these remedies, those never approved, in id order: what a bulk approval has left to judge
    (one sent back or no longer proposed is judged too, and refused with its reason)."""
    return list(
        Remedy.objects.filter(pk__in=remedy_ids, approved_at=None).order_by("pk").values_list("pk", flat=True)
    )


def approved_count(remedy_ids):
    return Remedy.objects.filter(pk__in=remedy_ids, approved_at__isnull=False).count()


def approved_among(remedy_ids):
    """Of these remedies, those approved (by anyone, at any time)."""
    if not remedy_ids:
        return set()
    return set(
        Remedy.objects.filter(pk__in=remedy_ids, approved_at__isnull=False).values_list("pk", flat=True)
    )


def ticket_references(remedy_ids):
    return dict(Remedy.objects.filter(pk__in=remedy_ids).values_list("pk", "ticket__reference"))


def notice_due(run):
    """Linked tickets that have not been sent this version of the incident's notice yet."""
    return (
        linked(run.incident)
        .exclude(
            pk__in=IncidentNotice.objects.filter(incident=run.incident, version=run.version).values("ticket")
        )
        .order_by("pk")
    )


def notice_progress(run):
    total = linked(run.incident).count()
    sent = IncidentNotice.objects.filter(incident=run.incident, version=run.version).count()
    return dict(
        run=run, total=total, sent=sent, percent=100 if not total else min(100, round(100 * sent / total))
    )


def open_incidents_with_counts():
    """For the dashboard: each open incident with its linked reports and confirmed proposals waiting."""
    return [
        dict(
            incident=incident,
            linked=incident.linked_count,
            waiting=confirmed_system_proposals(incident).count(),
        )
        for incident in Incident.objects.open().annotate(linked_count=Count("links")).order_by("starts_at")
    ]
