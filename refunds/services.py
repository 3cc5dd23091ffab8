"""Propose, approve and apply remedies: each approved remedy is applied exactly once, with a ledger entry."""

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from refunds.gateways import GatewayError, gateway_for
from refunds.models import LedgerEntry, Remedy, RemedyKind, RemedyState
from tickets.exceptions import InvalidParameter, TransitionNotAllowed
from tickets.models import Category, RemedyPreference

log = logging.getLogger(__name__)

MAX_STAMPS = 1000
MAX_REFUND_RUPIAH = 100_000_000


def _positive_int(value, field_name, maximum, message):
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidParameter(message, field=field_name) from None
    if not 1 <= number <= maximum:
        raise InvalidParameter(message, field=field_name)
    return number


def remedy_kind_for(ticket):
    if ticket.category == Category.PAID_NOT_CREDITED and ticket.remedy_preference == RemedyPreference.MONEY:
        return RemedyKind.REFUND
    return RemedyKind.QUOTA


def create_proposal(*, ticket, proposed_by, quantity=None, amount=None, note=""):
    """The agent's proposal: stamps to restore, or rupiah to refund (by the applicant's choice)."""
    kind = remedy_kind_for(ticket)
    remedy = Remedy(ticket=ticket, kind=kind, proposed_by=proposed_by, note=note or "")
    if kind == RemedyKind.QUOTA:
        if amount not in (None, ""):
            raise InvalidParameter(_("This ticket's remedy is quota: give a quantity."), field="amount")
        message = _("Give the number of stamps to restore (1 to %(max)s).") % {"max": MAX_STAMPS}
        remedy.quantity = _positive_int(quantity, "quantity", MAX_STAMPS, message)
        remedy.account = ticket.platform_account_email or ticket.email
    else:
        if quantity not in (None, ""):
            raise InvalidParameter(_("This ticket's remedy is a refund: give an amount."), field="quantity")
        ceiling = min(ticket.amount_paid or MAX_REFUND_RUPIAH, MAX_REFUND_RUPIAH)
        message = _("Give the amount to refund in rupiah (1 to %(max)s).") % {"max": ceiling}
        remedy.amount = _positive_int(amount, "amount", ceiling, message)
        remedy.payout_method = ticket.payout_method
        remedy.payout_account = ticket.payout_account
        remedy.payout_name = ticket.payout_name
    remedy.save()
    ticket.forget_current_remedy()
    return remedy


def _current(ticket, state):
    remedy = Remedy.objects.select_for_update().filter(ticket=ticket, state=state).order_by("-id").first()
    if remedy is None:
        raise TransitionNotAllowed(_("This ticket has no remedy in that state."))
    ticket.forget_current_remedy()
    return remedy


def mark_approved(*, ticket, approved_by):
    remedy = _current(ticket, RemedyState.PROPOSED)
    remedy.state = RemedyState.APPROVED
    remedy.approved_by = approved_by
    remedy.approved_at = timezone.now()
    remedy.save(update_fields=["state", "approved_by", "approved_at"])
    return remedy


def withdraw(*, ticket, reason):
    remedy = _current(ticket, RemedyState.PROPOSED)
    remedy.state = RemedyState.WITHDRAWN
    remedy.withdrawn_reason = reason
    remedy.save(update_fields=["state", "withdrawn_reason"])
    return remedy


def mark_retry(*, ticket):
    """Back to approved after a failure; the same idempotency key is used again."""
    remedy = _current(ticket, RemedyState.FAILED)
    remedy.state = RemedyState.APPROVED
    remedy.last_error = ""
    remedy.save(update_fields=["state", "last_error"])
    return remedy


def schedule_application(remedy_id):
    """Hand an approved remedy to a worker, unless operators paused remedies (the sweep resumes them)."""
    from refunds.tasks import apply_remedy

    if not settings.REMEDIES_PAUSED:
        apply_remedy.delay(remedy_id)


def attempt_application(*, remedy_id):
    """Call the gateway for an approved remedy (outside any transaction) and record a success.

    Returns True when the remedy is applied (now or before). Raises GatewayError on failure.
    """
    remedy = Remedy.objects.select_related("ticket").get(pk=remedy_id)
    if remedy.state == RemedyState.APPLIED:
        return True
    if remedy.state != RemedyState.APPROVED:
        return False
    Remedy.objects.filter(pk=remedy.pk).update(attempts=remedy.attempts + 1, last_attempt_at=timezone.now())
    gateway = gateway_for(remedy)
    provider_reference = gateway.apply(remedy)
    record_application(remedy_id=remedy.pk, provider_reference=provider_reference, gateway=gateway.name)
    return True


def record_application(*, remedy_id, provider_reference, gateway):
    """The provider confirmed: remedy applied, ledger entry and ticket resolved, all in one transaction."""
    from tickets import services as tickets

    with transaction.atomic():
        remedy = Remedy.objects.select_for_update().select_related("ticket").get(pk=remedy_id)
        if remedy.state == RemedyState.APPLIED:
            return remedy
        remedy.state = RemedyState.APPLIED
        remedy.applied_at = timezone.now()
        remedy.provider_reference = provider_reference[:128]
        remedy.last_error = ""
        remedy.save(update_fields=["state", "applied_at", "provider_reference", "last_error"])
        try:
            with transaction.atomic():
                LedgerEntry.objects.create(
                    remedy=remedy,
                    ticket=remedy.ticket,
                    kind=remedy.kind,
                    quantity=remedy.quantity or 0,
                    amount=remedy.amount or 0,
                    account=remedy.account or remedy.payout_account,
                    gateway=gateway,
                    provider_reference=remedy.provider_reference,
                    created_at=remedy.applied_at,
                )
        except IntegrityError:
            log.warning("Ledger entry for remedy %s already exists", remedy.pk)
        tickets.remedy_applied(ticket=remedy.ticket, note=f"{gateway}: {remedy.provider_reference}")
    return remedy


def record_failure(*, remedy_id, error):
    """Retries are exhausted or the provider refused for good: the ticket goes to remedy_failed."""
    from tickets import services as tickets

    with transaction.atomic():
        remedy = Remedy.objects.select_for_update().select_related("ticket").get(pk=remedy_id)
        if remedy.state != RemedyState.APPROVED:
            return remedy
        remedy.state = RemedyState.FAILED
        remedy.failed_at = timezone.now()
        remedy.last_error = str(error)[:2000]
        remedy.save(update_fields=["state", "failed_at", "last_error"])
        tickets.remedy_failed(ticket=remedy.ticket, error=remedy.last_error)
    return remedy


__all__ = [
    "GatewayError",
    "attempt_application",
    "create_proposal",
    "mark_approved",
    "mark_retry",
    "record_application",
    "record_failure",
    "schedule_application",
    "withdraw",
]
