"""Queries that read remedies and the ledger, for the dashboard."""

from datetime import timedelta

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from refunds.models import LedgerEntry, Remedy, RemedyState
from tickets.selectors import DASHBOARD_DAYS, days_ending, start_of


def remedies_awaiting_approval():
    row = Remedy.objects.filter(state=RemedyState.PROPOSED).aggregate(
        n=Count("id"), stamps=Sum("quantity"), rupiah=Sum("amount")
    )
    return {"count": row["n"] or 0, "stamps": row["stamps"] or 0, "rupiah": row["rupiah"] or 0}


def ledger_per_day(days=DASHBOARD_DAYS):
    """Stamps restored and rupiah refunded per day, from the append-only ledger."""
    today = timezone.localdate()
    since = start_of(today - timedelta(days=days - 1))
    rows = {
        day: (stamps or 0, rupiah or 0)
        for day, stamps, rupiah in LedgerEntry.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values_list("day")
        .annotate(stamps=Sum("quantity"), rupiah=Sum("amount"))
        .values_list("day", "stamps", "rupiah")
    }
    return [(day, *rows.get(day, (0, 0))) for day in days_ending(today, days)]
