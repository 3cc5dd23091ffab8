"""The platform's records (loaded from its exports) and each ticket's verification against them."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StampingStatus(models.TextChoices):
    SUCCESS = "success", _("Success")
    REFUND = "refund", _("Refund")
    FAILED = "failed", _("Failed")
    PENDING = "pending", _("Pending")


class OrderStatus(models.TextChoices):
    PAID = "paid", _("Paid")
    PENDING = "pending", _("Pending")
    EXPIRED = "expired", _("Expired")
    REFUNDED = "refunded", _("Refunded")


class PlatformStamping(models.Model):
    """One row of the platform's stamping export; the newest export loaded wins."""

    serial_number = models.CharField(max_length=22, unique=True)
    account = models.CharField(max_length=254)
    status = models.CharField(max_length=8, choices=StampingStatus.choices)
    attempted_at = models.DateTimeField(null=True, blank=True)
    document_name = models.CharField(max_length=255, blank=True)
    quota_restored = models.BooleanField(default=False)
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("platform stamping")
        verbose_name_plural = _("platform stampings")

    def __str__(self):
        return self.serial_number

    def as_record(self):
        """The same shape as the platform API's answer."""
        return {
            "serial_number": self.serial_number,
            "account": self.account,
            "status": self.status,
            "attempted_at": self.attempted_at.isoformat() if self.attempted_at else None,
            "document_name": self.document_name,
            "quota_restored": self.quota_restored,
            "restored_at": None,
        }


class PlatformOrder(models.Model):
    """One row of the platform's order export; the newest export loaded wins."""

    order_id = models.CharField(max_length=100, unique=True)
    account = models.CharField(max_length=254)
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, default="IDR")
    status = models.CharField(max_length=8, choices=OrderStatus.choices)
    paid_at = models.DateTimeField(null=True, blank=True)
    quantity = models.PositiveIntegerField()
    quota_credited = models.PositiveIntegerField()
    loaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("platform order")
        verbose_name_plural = _("platform orders")

    def __str__(self):
        return self.order_id

    def as_record(self):
        return {
            "order_id": self.order_id,
            "account": self.account,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "paid_at": self.paid_at.isoformat() if self.paid_at else None,
            "quantity": self.quantity,
            "quota_credited": self.quota_credited,
        }


class Outcome(models.TextChoices):
    PENDING = "pending", _("Pending")
    CONFIRMED = "confirmed", _("Confirmed")
    CONTRADICTED = "contradicted", _("Contradicted")
    UNKNOWN = "unknown", _("Unknown")


# Outcomes that new records or a platform that answers again can still change.
OPEN_OUTCOMES = [Outcome.PENDING, Outcome.UNKNOWN]


class Reason(models.TextChoices):
    STAMPINGS_FAILED = "stampings_failed", _("Every stamping failed and none was restored")
    ORDER_NOT_CREDITED = "order_not_credited", _("Paid and not (fully) credited")
    STAMPING_SUCCEEDED = "stamping_succeeded", _("The platform says the stamping succeeded")
    ALREADY_RESTORED = "already_restored", _("The quota was restored already")
    OTHER_ACCOUNT = "other_account", _("The record belongs to another account")
    ORDER_NOT_PAID = "order_not_paid", _("The order was never paid")
    ORDER_EXPIRED = "order_expired", _("The order expired")
    ORDER_REFUNDED = "order_refunded", _("The order was refunded")
    ALREADY_CREDITED = "already_credited", _("The order was credited in full")
    NO_RECORD = "no_record", _("The platform has no record")
    RECORD_PENDING = "record_pending", _("The platform's record is still pending")
    PLATFORM_UNAVAILABLE = "platform_unavailable", _("The platform did not answer")


class Verification(models.Model):
    """What the platform's records say about one ticket's claim; at most one system proposal comes of it."""

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="verification")
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    reason = models.CharField(max_length=24, choices=Reason.choices, blank=True)
    record = models.JSONField(default=dict, blank=True, help_text=_("What the platform said"))
    duplicate_of = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Another ticket claims or was remedied for the same serial number or order"),
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    proposed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("The system proposed the remedy (once per ticket, ever)")
    )

    class Meta:
        indexes = [
            models.Index(fields=["outcome"], name="verification_outcome_idx"),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(outcome__in=["pending", "unknown"]),
                name="verification_due_idx",
            ),
        ]

    def __str__(self):
        return f"{self.ticket_id}: {self.outcome}"


class RemedyClaim(models.Model):
    """A serial number or an order under a live proposal or remedy: unique, so nothing is remedied twice.

    Written by the `propose_remedy` hook (agents' and the system's proposals alike), released when a
    supervisor sends the proposal back.
    """

    key = models.CharField(max_length=110, unique=True)  # "serial:<22>" or "order:<id>"
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return self.key
