"""Queries that read tickets: SLA, search, duplicates, the conversation, and the supervisors' dashboard.

Shared by the admin console, the dashboard and the tasks. Every query here is meant to stay cheap at a
million tickets: it filters on an indexed column (see the indexes in tickets/migrations) or aggregates
over a bounded window of days.
"""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import OPEN_STATES, Evidence, SerialNumber, State, Ticket, TicketTransition
from tickets.validators import normalize_whatsapp

# --- SLA ----------------------------------------------------------------------------------------


def sla_hours(state):
    """Hours a ticket may stay in `state`, or None when the state has no SLA."""
    return settings.SLA_HOURS.get(str(state))


def sla_due(ticket):
    hours = sla_hours(ticket.state)
    if hours is None:
        return None
    return ticket.state_changed_at + timedelta(hours=hours)


def sla_breached_q(now=None):
    """Tickets whose current state has lasted longer than its SLA (index: state, state_changed_at)."""
    now = now or timezone.now()
    condition = Q(pk__in=[])
    for state, hours in settings.SLA_HOURS.items():
        condition |= Q(state=state, state_changed_at__lt=now - timedelta(hours=hours))
    return condition


def sla_ok_q(now=None):
    now = now or timezone.now()
    condition = Q(pk__in=[])
    for state, hours in settings.SLA_HOURS.items():
        condition |= Q(state=state, state_changed_at__gte=now - timedelta(hours=hours))
    return condition


# --- the agent's saved views --------------------------------------------------------------------

# name -> (label, whether the view lists oldest first). `queue` is the console's default.
QUEUE_VIEWS = {
    "queue": (_("My queue"), True),
    "mine": (_("Mine"), True),
    "unassigned": (_("Unassigned"), True),
    "waiting": (_("Waiting on me"), True),
    "replied": (_("Applicant replied"), True),
    "sla": (_("SLA breached"), True),
    "all": (_("All tickets"), False),
}

# States in which the next step is the assigned agent's own.
AGENT_TURN_STATES = [State.REPORTED, State.IN_REVIEW]


def queue_view_q(view, user, now=None):
    """The filter of a saved view for `user`; None for an unknown view (or `all`)."""
    mine, nobody = Q(assigned_to=user), Q(assigned_to=None)
    open_ = Q(state__in=OPEN_STATES)
    replied = Q(applicant_replied_at__isnull=False)
    return {
        "queue": open_ & (mine | nobody),
        "mine": open_ & mine,
        "unassigned": open_ & nobody,
        "waiting": mine & (Q(state__in=AGENT_TURN_STATES) | replied),
        "replied": replied & (mine | nobody),
        "sla": open_ & sla_breached_q(now),
    }.get(view)


def replies_waiting(user):
    """How many of the user's tickets (or unassigned ones) the applicant wrote on since they were opened."""
    return Ticket.objects.filter(queue_view_q("replied", user)).count()


# --- search -------------------------------------------------------------------------------------

_REFERENCE = re.compile(r"^(EMT-?)?[2-9A-HJ-NP-TV-Z]{7}$")
_NIK = re.compile(r"^\d{16}$")
_SERIAL = re.compile(r"^[0-9A-Z]{22}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


@dataclass
class SearchTerm:
    kind: str  # reference, reference_or_name, nik, whatsapp, email, serial, name
    value: str


def classify_search(term):
    """Decide which exact key a search term is, so the search uses that key's index.

    A name is the fallback: searched by prefix (case-insensitive), never by `LIKE '%...%'`.
    """
    text = " ".join((term or "").split())
    upper = text.upper().replace(" ", "")
    if _REFERENCE.match(upper):
        suffix = upper.removeprefix("EMT-").removeprefix("EMT")
        # Seven letters without the prefix may be a name too ("Pratama"): both are looked up.
        kind = "reference" if upper.startswith("EMT") or not text.isalpha() else "reference_or_name"
        return SearchTerm(kind, f"EMT-{suffix}")
    if _EMAIL.match(text):
        return SearchTerm("email", text)
    digits = re.sub(r"[\s.\-]", "", text)
    if _NIK.match(digits):
        return SearchTerm("nik", digits)
    if _SERIAL.match(upper):
        return SearchTerm("serial", upper)
    if re.search(r"\d{6}", re.sub(r"\D", "", text)) and not re.search(r"[A-Za-z]", text):
        try:
            return SearchTerm("whatsapp", normalize_whatsapp(text))
        except ValidationError:
            pass
    return SearchTerm("name", text)


def search_q(term):
    """A filter for the ticket list's search box."""
    found = classify_search(term)
    if not found.value:
        return Q()
    if found.kind == "reference":
        return Q(reference=found.value)
    if found.kind == "reference_or_name":
        return Q(reference=found.value) | Q(full_name__istartswith=term.strip())
    if found.kind == "email":
        return Q(email__iexact=found.value) | Q(platform_account_email__iexact=found.value)
    if found.kind == "nik":
        return Q(nik=found.value)
    if found.kind == "whatsapp":
        return Q(whatsapp=found.value)
    if found.kind == "serial":
        return Q(pk__in=SerialNumber.objects.filter(value=found.value).values("ticket_id"))
    return Q(full_name__istartswith=found.value)


# --- the ticket page ----------------------------------------------------------------------------


def conversation(ticket):
    """Every message on the ticket in time order, with its author and evidence, in two queries."""
    return list(
        ticket.messages.select_related("author", "inbound_email")
        .defer("inbound_email__raw")
        .prefetch_related("evidence")
        .order_by("created_at", "id")
    )


def transition_log(ticket):
    return list(
        TicketTransition.objects.filter(ticket=ticket).select_related("actor").order_by("created_at", "id")
    )


def related_tickets(ticket, limit=50):
    """Other tickets naming one of this ticket's serial numbers or carrying the same screenshot.

    Two index lookups (serial value, evidence hash) and one fetch by primary key: an `OR` of two
    subqueries would make PostgreSQL read the whole ticket table.
    """
    serials = SerialNumber.objects.filter(ticket=ticket).values("value")
    applicants = Evidence.objects.exclude(source=Evidence.Source.STAFF)
    hashes = applicants.filter(ticket=ticket, state=Evidence.State.READY).values("sha256")
    ids = set(
        SerialNumber.objects.filter(value__in=serials)
        .exclude(ticket=ticket)
        .values_list("ticket_id", flat=True)[:limit]
    )
    ids |= set(
        applicants.filter(sha256__in=hashes)
        .exclude(ticket=ticket)
        .values_list("ticket_id", flat=True)[:limit]
    )
    if not ids:
        return []
    return list(
        Ticket.objects.filter(pk__in=ids).select_related("assigned_to").order_by("created_at")[:limit]
    )


# --- counts -------------------------------------------------------------------------------------


def estimated_count(queryset, cap=10_000):
    """Rows in `queryset`: the planner's estimate for a whole big table on PostgreSQL, else a count
    that stops at `cap + 1` (so a filtered million-row list never counts past what a page needs)."""
    if connection.vendor == "postgresql" and not queryset.query.where:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            row = cursor.fetchone()
        if row and row[0] > cap:
            return int(row[0])
    return queryset.order_by()[: cap + 1].count()


# --- the supervisors' dashboard -----------------------------------------------------------------

DASHBOARD_DAYS = 30
BACKLOG_BUCKETS = [  # (label, lower bound in hours, upper bound in hours)
    ("< 4 h", 0, 4),
    ("4-24 h", 4, 24),
    ("1-3 d", 24, 72),
    ("3-7 d", 72, 168),
    ("> 7 d", 168, None),
]


def days_ending(today, days):
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def start_of(day):
    return timezone.make_aware(timezone.datetime.combine(day, timezone.datetime.min.time()))


def tickets_per_state():
    counts = dict(Ticket.objects.order_by().values_list("state").annotate(n=Count("id")))
    return [(label, counts.get(value, 0), value) for value, label in State.choices]


def opened_and_resolved_per_day(days=DASHBOARD_DAYS):
    today = timezone.localdate()
    since = start_of(today - timedelta(days=days - 1))
    opened = dict(
        Ticket.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values_list("day")
        .annotate(n=Count("id"))
    )
    resolved = dict(
        TicketTransition.objects.filter(target=State.RESOLVED, created_at__gte=since)
        .filter(name__in=["remedy_applied", "resolve"])
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values_list("day")
        .annotate(n=Count("id"))
    )
    return [(day, opened.get(day, 0), resolved.get(day, 0)) for day in days_ending(today, days)]


def backlog_age():
    """Open tickets by how long ago they were reported."""
    now = timezone.now()
    aggregates = {}
    for index, (_label, low, high) in enumerate(BACKLOG_BUCKETS):
        condition = Q(created_at__lte=now - timedelta(hours=low))
        if high is not None:
            condition &= Q(created_at__gt=now - timedelta(hours=high))
        aggregates[f"b{index}"] = Count("id", filter=condition)
    row = Ticket.objects.filter(state__in=OPEN_STATES).aggregate(**aggregates)
    return [(label, row[f"b{index}"]) for index, (label, _low, _high) in enumerate(BACKLOG_BUCKETS)]


def sla_breaches_per_state():
    now = timezone.now()
    aggregates = {}
    for state, hours in settings.SLA_HOURS.items():
        aggregates[state] = Count(
            "id", filter=Q(state=state, state_changed_at__lt=now - timedelta(hours=hours))
        )
    row = Ticket.objects.filter(state__in=list(settings.SLA_HOURS)).aggregate(**aggregates)
    labels = dict(State.choices)
    return [(labels.get(state, state), row[state], state) for state in settings.SLA_HOURS]
