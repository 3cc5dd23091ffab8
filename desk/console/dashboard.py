"""The supervisors' dashboard: where the backlog is, as SVG charts with their numbers and CSV downloads.

A staff page at /admin/dashboard/ (linked from the admin index and the ticket list); its queries are
in tickets/selectors.py.
"""

import csv

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from desk.console.charts import bar_chart, hbar_chart
from incidents import selectors as incident_selectors
from notifications import satisfaction
from refunds import selectors as remedy_selectors
from tickets import roles, selectors


def _tables():
    """Each dashboard table: slug -> (title, column headings, rows), cached for a minute (the counts
    over all open tickets take a few hundred milliseconds at a million tickets)."""
    seconds = settings.DASHBOARD_CACHE_SECONDS
    if not seconds:
        return _compute_tables(), timezone.localtime()
    key = f"tickets:dashboard:{translation.get_language()}"
    cached = cache.get(key)
    if cached is None:
        cached = (_compute_tables(), timezone.localtime())
        cache.set(key, cached, seconds)
    return cached


def _compute_tables():
    per_state = selectors.tickets_per_state()
    per_day = selectors.opened_and_resolved_per_day()
    backlog = selectors.backlog_age()
    breaches = selectors.sla_breaches_per_state()
    ledger = remedy_selectors.ledger_per_day()
    return {
        "states": (
            _("Tickets per state"),
            [_("State"), _("Tickets")],
            [(str(label), n) for label, n, _v in per_state],
        ),
        "daily": (
            _("Opened and resolved per day"),
            [_("Day"), _("Opened"), _("Resolved")],
            [(day.isoformat(), opened, resolved) for day, opened, resolved in per_day],
        ),
        "backlog": (_("Open tickets by age"), [_("Age"), _("Tickets")], backlog),
        "sla": (
            _("SLA breaches per state"),
            [_("State"), _("Breached")],
            [(str(label), n) for label, n, _v in breaches],
        ),
        "ledger": (
            _("Remedies applied per day (ledger)"),
            [_("Day"), _("Stamps restored"), _("Rupiah refunded")],
            [(day.isoformat(), stamps, rupiah) for day, stamps, rupiah in ledger],
        ),
        "csat-weekly": (
            _("Satisfaction (CSAT) per week"),
            [_("Week of"), _("Answers"), _("Average rating (1-5)")],
            [(week.isoformat(), answers, average) for week, answers, average in satisfaction.per_week()],
        ),
        "csat-agents": (
            _("Satisfaction (CSAT) per agent, last 12 weeks"),
            [_("Agent"), _("Answers"), _("Average rating (1-5)")],
            satisfaction.per_agent(),
        ),
    }


def _charts(tables):
    charts = {}
    for slug, (title, headings, rows) in tables.items():
        labels = [str(row[0]) for row in rows]
        every = 1
        if slug in ("daily", "ledger"):
            labels = [label[5:] for label in labels]  # MM-DD
            every = 5
        if slug == "csat-agents":  # the average per agent; the answers are in the table
            charts[slug] = [hbar_chart(labels, [row[2] for row in rows], title=title)]
            continue
        if slug == "csat-weekly":
            charts[slug] = [bar_chart(labels, [(headings[2], [row[2] for row in rows])], title=title)]
            continue
        if slug in ("states", "sla"):
            charts[slug] = [hbar_chart(labels, [row[1] for row in rows], title=title)]
            continue
        if slug == "ledger":  # two units: one chart each
            charts[slug] = [
                bar_chart(
                    labels, [(headings[1], [row[1] for row in rows])], title=headings[1], label_every=every
                ),
                bar_chart(
                    labels, [(headings[2], [row[2] for row in rows])], title=headings[2], label_every=every
                ),
            ]
            continue
        series = [
            (heading, [row[index] for row in rows]) for index, heading in enumerate(headings[1:], start=1)
        ]
        charts[slug] = [bar_chart(labels, series, title=title, label_every=every)]
    return charts


def _check(request):
    if not (request.user.is_superuser or roles.is_supervisor(None, request.user)):
        raise PermissionDenied


def dashboard(request):
    _check(request)
    tables, as_of = _tables()
    charts = _charts(tables)
    breaches = sum(row[1] for row in tables["sla"][2])
    backlog = sum(row[1] for row in tables["backlog"][2])
    sections = [
        {"slug": slug, "title": title, "headings": headings, "rows": rows, "charts": charts[slug]}
        for slug, (title, headings, rows) in tables.items()
    ]
    context = {
        **admin.site.each_context(request),
        "title": _("Supervisors' dashboard"),
        "sections": sections,
        "awaiting": remedy_selectors.remedies_awaiting_approval(),
        "awaiting_url": _awaiting_url(),
        "open_incidents": incident_selectors.open_incidents_with_counts(),
        "breached_url": reverse("admin:tickets_ticket_changelist") + "?sla=breached",
        "breaches": breaches,
        "backlog": backlog,
        "now": as_of,
    }
    return TemplateResponse(request, "admin/tickets/dashboard.html", context)


def _awaiting_url():
    """The supervisors' approval queue (refunds admin); the ticket list filtered alike without it."""
    try:
        return reverse("admin:refunds_remedyawaitingapproval_changelist")
    except NoReverseMatch:
        return reverse("admin:tickets_ticket_changelist") + "?state__exact=awaiting_approval"


def dashboard_csv(request, slug):
    _check(request)
    tables, _as_of = _tables()
    if slug not in tables:
        raise Http404
    title, headings, rows = tables[slug]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="dashboard-{slug}-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(headings)
    writer.writerows(rows)
    return response
