"""Reconciliation: the ledger against the remedies' states, one Jakarta day at a time."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, F, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from refunds.models import LedgerEntry, ReconciliationMismatch, Remedy, RemedyState
from refunds.retries import claim_lease


class Problem:
    APPLIED_WITHOUT_LEDGER = "applied_without_ledger"
    LEDGER_WITHOUT_APPLIED_REMEDY = "ledger_without_applied_remedy"
    MISMATCHED_FIGURES = "mismatched_figures"
    DUPLICATE_PROVIDER_REFERENCE = "duplicate_provider_reference"
    TICKET_APPLIED_TWICE = "ticket_applied_twice"
    APPLIED_AT_PROVIDER_NOT_RECORDED = "applied_at_provider_not_recorded"
    CLAIMED_PAST_LEASE = "claimed_past_lease"
    SUCCESS_AFTER_FAILURE = "success_after_failure"


@dataclass
class Totals:
    kind: str
    entries: int
    quantity: int
    amount: int


def day_bounds(day):
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


def find_mismatches(day):
    """Unsaved ReconciliationMismatch rows for `day` (the local calendar day of settings.TIME_ZONE)."""
    start, end = day_bounds(day)
    found = []

    def add(problem, detail, remedy_id=None):
        found.append(ReconciliationMismatch(day=day, remedy_id=remedy_id, problem=problem, detail=detail))

    applied = Remedy.objects.filter(state=RemedyState.APPLIED, applied_at__gte=start, applied_at__lt=end)
    for remedy in applied.filter(ledger_entry__isnull=True).select_related("ticket").order_by("id"):
        add(
            Problem.APPLIED_WITHOUT_LEDGER,
            f"{remedy.ticket.reference}: remedy {remedy.pk} applied at {remedy.applied_at:%Y-%m-%d %H:%M} "
            "has no ledger entry",
            remedy.pk,
        )

    _provider_outcomes_not_recorded(start, end, add)

    entries = LedgerEntry.objects.filter(created_at__gte=start, created_at__lt=end).select_related(
        "remedy", "ticket"
    )
    for entry in entries.exclude(remedy__state=RemedyState.APPLIED).order_by("id"):
        add(
            Problem.LEDGER_WITHOUT_APPLIED_REMEDY,
            f"{entry.ticket.reference}: ledger entry {entry.pk} for remedy {entry.remedy_id} "
            f"which is {entry.remedy.state}",
            entry.remedy_id,
        )
    mismatched = entries.exclude(
        kind=F("remedy__kind"),
        quantity=Coalesce(F("remedy__quantity"), Value(0)),
        amount=Coalesce(F("remedy__amount"), Value(0)),
    )
    for entry in mismatched.order_by("id"):
        remedy = entry.remedy
        add(
            Problem.MISMATCHED_FIGURES,
            f"{entry.ticket.reference}: ledger {entry.kind} {entry.quantity or entry.amount}, "
            f"remedy {remedy.kind} {remedy.quantity or remedy.amount or 0}",
            entry.remedy_id,
        )

    references = (
        entries.exclude(provider_reference="").values_list("provider_reference", flat=True).distinct()
    )
    repeated = (
        LedgerEntry.objects.filter(provider_reference__in=list(references))
        .values("provider_reference")
        .annotate(count=Count("id"))
        .filter(count__gt=1)
    )
    for row in repeated.order_by("provider_reference"):
        remedy_ids = sorted(
            LedgerEntry.objects.filter(provider_reference=row["provider_reference"]).values_list(
                "remedy_id", flat=True
            )
        )
        add(
            Problem.DUPLICATE_PROVIDER_REFERENCE,
            f"provider reference {row['provider_reference']} recorded for remedies {remedy_ids}",
            remedy_ids[-1],
        )
    twice = entries.values("ticket__reference").annotate(count=Count("id")).filter(count__gt=1)
    for row in twice.order_by("ticket__reference"):
        add(
            Problem.TICKET_APPLIED_TWICE,
            f"{row['ticket__reference']}: {row['count']} remedies applied on this day",
        )
    return found


def _provider_outcomes_not_recorded(start, end, add):
    """Remedies the provider may have applied without a ledger entry here: its success noted but the
    recording failed, a claim held past its lease (a worker died, or could not record), or a success
    that came after the remedy was recorded as failed."""
    remedies = Remedy.objects.select_related("ticket").order_by("id")
    confirmed = remedies.filter(provider_confirmed_at__gte=start, provider_confirmed_at__lt=end)
    for remedy in confirmed.filter(state=RemedyState.APPROVED):
        add(
            Problem.APPLIED_AT_PROVIDER_NOT_RECORDED,
            f"{remedy.ticket.reference}: remedy {remedy.pk} applied at the provider "
            f"({remedy.provider_reference}) at {remedy.provider_confirmed_at:%Y-%m-%d %H:%M}, not recorded",
            remedy.pk,
        )
    stuck = remedies.filter(
        state=RemedyState.APPROVED,
        provider_confirmed_at=None,
        claimed_at__gte=start,
        claimed_at__lt=min(end, timezone.now() - claim_lease()),
    )
    for remedy in stuck:
        add(
            Problem.CLAIMED_PAST_LEASE,
            f"{remedy.ticket.reference}: remedy {remedy.pk} claimed at {remedy.claimed_at:%Y-%m-%d %H:%M} "
            "and neither recorded nor released; the provider may have applied it",
            remedy.pk,
        )
    for remedy in confirmed.filter(state=RemedyState.FAILED):
        add(
            Problem.SUCCESS_AFTER_FAILURE,
            f"{remedy.ticket.reference}: remedy {remedy.pk} recorded as failed, but the provider applied "
            f"it ({remedy.provider_reference}) at {remedy.provider_confirmed_at:%Y-%m-%d %H:%M}",
            remedy.pk,
        )


def totals(day):
    """Ledger totals per kind for `day`, to set against the platform's and the payout provider's figures."""
    start, end = day_bounds(day)
    rows = (
        LedgerEntry.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("kind")
        .annotate(entries=Count("id"), quantity=Sum("quantity"), amount=Sum("amount"))
        .order_by("kind")
    )
    return [Totals(row["kind"], row["entries"], row["quantity"] or 0, row["amount"] or 0) for row in rows]


def reconcile(*, day):
    """Find the day's mismatches and store them, replacing an earlier run's for the same day."""
    mismatches = find_mismatches(day)
    with transaction.atomic():
        ReconciliationMismatch.objects.filter(day=day).delete()
        ReconciliationMismatch.objects.bulk_create(mismatches)
    return mismatches


__all__ = ["Problem", "find_mismatches", "reconcile", "totals"]
