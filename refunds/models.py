"""Remedies (quota adjustments and money refunds), their approval, and the append-only ledger."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, FSMModelMixin, transition


class RemedyKind(models.TextChoices):
    QUOTA = "quota", _("Quota restoration")
    REFUND = "refund", _("Money refund")


class RemedyState(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    WITHDRAWN = "withdrawn", _("Sent back")
    APPROVED = "approved", _("Approved")
    APPLIED = "applied", _("Applied")
    FAILED = "failed", _("Failed")


class Remedy(FSMModelMixin, models.Model):
    """One proposal to restore quota (a quota adjustment) or refund money (a refund), by `kind`.

    Both kinds share one table, so that bulk approval and the ledger share one id space; each is
    applied at most once under its idempotency key. Its state is a small machine of its own
    (proposed -> approved -> applied | failed, proposed -> withdrawn, failed -> approved), changed only
    by the transitions below, which the services call on a locked ticket and remedy; how it stays in
    step with the ticket's state is stated once, in `refunds.consistency`.
    """

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, related_name="remedies", verbose_name=_("ticket")
    )
    kind = models.CharField(max_length=8, choices=RemedyKind.choices, verbose_name=_("kind"))
    state = FSMField(
        _("state"),
        max_length=16,
        choices=RemedyState.choices,
        default=RemedyState.PROPOSED,
        db_index=True,
        protected=True,
    )
    quantity = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Stamps to restore"), verbose_name=_("stamps")
    )
    amount = models.PositiveBigIntegerField(
        null=True, blank=True, help_text=_("Rupiah to refund"), verbose_name=_("amount")
    )
    account = models.CharField(
        max_length=254,
        blank=True,
        help_text=_("Stamping platform account"),
        verbose_name=_("platform account"),
    )
    payout_method = models.CharField(max_length=8, blank=True, verbose_name=_("payout method"))
    payout_account = models.CharField(max_length=64, blank=True, verbose_name=_("payout account"))
    payout_name = models.CharField(max_length=200, blank=True, verbose_name=_("payout name"))
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)

    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="remedies_proposed",
        verbose_name=_("proposed by"),
        help_text=_("Empty: proposed by the system, the platform's record confirming the claim"),
    )
    proposed_at = models.DateTimeField(default=timezone.now, verbose_name=_("proposed at"))
    note = models.TextField(blank=True, verbose_name=_("note"))
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="remedies_approved",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(null=True, blank=True, db_index=True, verbose_name=_("approved at"))
    withdrawn_reason = models.TextField(blank=True, verbose_name=_("why it was sent back"))
    applied_at = models.DateTimeField(null=True, blank=True, db_index=True, verbose_name=_("applied at"))
    failed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("failed at"))
    provider_reference = models.CharField(max_length=128, blank=True, verbose_name=_("provider reference"))
    provider_confirmed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("The provider answered that it applied the remedy (recorded before the ledger entry)"),
        verbose_name=_("provider confirmed at"),
    )
    attempts = models.PositiveIntegerField(
        default=0,
        help_text=_("Calls to the provider since the remedy was (last) approved"),
        verbose_name=_("attempts"),
    )
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        db_index=True,
        help_text=_("When the next call to the provider is due (refunds.retries has the schedule)"),
        verbose_name=_("next attempt at"),
    )
    claimed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("A worker is calling the provider for this remedy since then"),
        verbose_name=_("claimed at"),
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last attempt at"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))

    class Meta:
        ordering = ["-id"]
        verbose_name = _("remedy")
        verbose_name_plural = _("remedies")
        indexes = [models.Index(fields=["state", "approved_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk} ({self.ticket_id})"

    @property
    def is_quota(self):
        return self.kind == RemedyKind.QUOTA

    def describe(self):
        if self.is_quota:
            return f"{self.quantity} e-Meterai"
        return f"Rp {self.amount:,}".replace(",", ".")

    # --- its state machine: short, free of I/O; refunds.services locks, calls and saves -------------

    @transition(state, source=RemedyState.PROPOSED, target=RemedyState.APPROVED)
    def approve(self, *, by, at):
        self.approved_by = by
        self.approved_at = at
        self.attempts = 0
        self.next_attempt_at = at

    @transition(state, source=RemedyState.PROPOSED, target=RemedyState.WITHDRAWN)
    def withdraw(self, *, reason):
        self.withdrawn_reason = reason

    @transition(state, source=RemedyState.APPROVED, target=RemedyState.APPLIED)
    def mark_applied(self, *, provider_reference, at):
        self.applied_at = at
        self.provider_reference = (provider_reference or "")[:128]
        self.provider_confirmed_at = self.provider_confirmed_at or at
        self.last_error = ""
        self.claimed_at = None
        self.next_attempt_at = None

    @transition(state, source=RemedyState.APPROVED, target=RemedyState.FAILED)
    def mark_failed(self, *, error, at):
        self.failed_at = at
        self.last_error = str(error)[:2000]
        self.claimed_at = None
        self.next_attempt_at = None

    @transition(state, source=RemedyState.FAILED, target=RemedyState.APPROVED)
    def retry(self, *, at):
        """Approved again by a supervisor: the same idempotency key, a fresh round of attempts."""
        self.last_error = ""
        self.attempts = 0
        self.next_attempt_at = at


class AwaitingApprovalManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(state=RemedyState.PROPOSED)


class RemedyAwaitingApproval(Remedy):
    """The supervisors' queue: proposals waiting for a second pair of eyes."""

    objects = AwaitingApprovalManager()

    class Meta:
        proxy = True
        verbose_name = _("remedy awaiting approval")
        verbose_name_plural = _("remedies awaiting approval")


class LedgerEntry(models.Model):
    """Append-only record of an applied remedy; one per remedy, enforced by the database."""

    remedy = models.OneToOneField(
        Remedy, on_delete=models.PROTECT, related_name="ledger_entry", verbose_name=_("remedy")
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.PROTECT, related_name="+", verbose_name=_("ticket")
    )
    kind = models.CharField(max_length=8, choices=RemedyKind.choices, verbose_name=_("kind"))
    quantity = models.PositiveIntegerField(default=0, verbose_name=_("stamps"))
    amount = models.PositiveBigIntegerField(default=0, verbose_name=_("amount"))
    account = models.CharField(max_length=254, blank=True, verbose_name=_("platform account"))
    gateway = models.CharField(max_length=16, verbose_name=_("gateway"))
    provider_reference = models.CharField(max_length=128, blank=True, verbose_name=_("provider reference"))
    created_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("at"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")

    def __str__(self):
        return f"{self.kind} {self.quantity or self.amount} for remedy {self.remedy_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("The ledger is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("The ledger is append-only.")


class ReconciliationMismatch(models.Model):
    """A difference found by `reconcile` between the ledger and the remedies' states."""

    day = models.DateField(db_index=True, verbose_name=_("day"))
    remedy = models.ForeignKey(
        Remedy, null=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("remedy")
    )
    problem = models.CharField(max_length=64, verbose_name=_("problem"))
    detail = models.TextField(blank=True, verbose_name=_("detail"))
    found_at = models.DateTimeField(default=timezone.now, verbose_name=_("found at"))

    class Meta:
        ordering = ["-found_at"]
        verbose_name = _("reconciliation mismatch")
        verbose_name_plural = _("reconciliation mismatches")

    def __str__(self):
        return f"{self.day}: {self.problem}"
