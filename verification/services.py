"""Verify a ticket's claim against the platform's records; the system proposes the remedy they confirm.

The platform is asked outside any transaction; the outcome is then stored on the locked ticket, where
the system proposal is made at most once per ticket (`Verification.proposed_at`), never for a ticket
that duplicates another's serial number or order, and never for a serial number another ticket's
remedy holds (`RemedyClaim`, unique by key).
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from refunds.models import RemedyState
from tickets import roles
from tickets import services as tickets
from tickets.exceptions import InvalidParameter, WorkflowError
from tickets.models import OPEN_STATES, Category, SerialNumber, State, Ticket
from verification import rules
from verification.models import OPEN_OUTCOMES, Outcome, Reason, RemedyClaim, Verification
from verification.sources import PlatformUnavailable, records

log = logging.getLogger(__name__)

# A verification scheduled at intake and not run by then (the broker was down) is picked up by the sweep.
SWEEP_GRACE = timedelta(minutes=2)
SWEEP_BATCH = 1000
PROPOSABLE_STATES = [State.REPORTED, State.IN_REVIEW]
LIVE_REMEDY_STATES = [RemedyState.PROPOSED, RemedyState.APPROVED, RemedyState.APPLIED, RemedyState.FAILED]


def serials_of(ticket):
    return list(ticket.serials.order_by("value").values_list("value", flat=True))


def needs_verification(ticket, serials=None):
    """A report of a failed stamping with serial numbers, or of an order not credited with its id
    (`serials`: the ticket's, when the caller read them already)."""
    if ticket.erased_at is not None:
        return False
    if ticket.category == Category.STAMP_FAILED:
        return bool(serials) if serials is not None else ticket.serials.exists()
    return ticket.category == Category.PAID_NOT_CREDITED and bool(ticket.order_id)


# --- scheduling -------------------------------------------------------------------------------


def start(*, ticket):
    """At intake (inside its transaction): a pending verification, run by a worker after commit."""
    if not needs_verification(ticket):
        return None
    verification = Verification.objects.filter(ticket=ticket).first()
    if verification is not None and verification.proposed_at is not None:
        return verification  # the system proposed for this ticket already: never again
    if verification is None:
        verification = Verification(ticket=ticket)
    verification.outcome = Outcome.PENDING
    verification.next_attempt_at = timezone.now() + SWEEP_GRACE
    verification.save()
    ticket_id = ticket.pk
    transaction.on_commit(lambda: schedule([ticket_id]))
    return verification


def schedule(ticket_ids):
    """Hand verifications to the `verification` queue, VERIFICATION_BATCH tickets to a task (one for a
    report at intake, many for an import or the sweep); a broker that is down leaves them to the sweep."""
    from verification.tasks import verify_ticket, verify_tickets

    ids = list(ticket_ids)
    size = max(settings.VERIFICATION_BATCH, 1)
    for start in range(0, len(ids), size):
        batch = ids[start : start + size]
        try:
            if len(batch) == 1:
                verify_ticket.delay(batch[0])
            else:
                verify_tickets.delay(batch)
        except Exception:  # the sweep schedules them again once next_attempt_at has passed
            log.exception("Could not schedule the verification of tickets %s; the sweep will", batch)


def due(*, now=None):
    """Ticket ids whose pending or unknown verification is due another attempt."""
    now = now or timezone.now()
    return list(
        Verification.objects.filter(outcome__in=OPEN_OUTCOMES, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("ticket_id", flat=True)[:SWEEP_BATCH]
    )


def retry_delay(attempts, retry_after=None):
    """Doubling from VERIFICATION_RETRY_SECONDS up to an hour, or later when the platform asks for it."""
    delay = min(settings.VERIFICATION_RETRY_SECONDS * 2 ** max(attempts - 1, 0), 3600)
    return timedelta(seconds=max(delay, min(retry_after or 0, 3600)))


# --- verifying --------------------------------------------------------------------------------


def verify_ticket(*, ticket_id, source=None, now=None):
    """Check one ticket against the platform's records and store the outcome; None if it has no claim.

    Runs any number of times: a settled outcome (confirmed, contradicted) is kept, and the remedy is
    proposed once.
    """
    return verify_tickets(ticket_ids=[ticket_id], source=source, now=now)[ticket_id]


def verify_tickets(*, ticket_ids, source=None, now=None):
    """Check many tickets at once, as `verify_ticket` does one: {ticket id: Verification or None}.

    The tickets, their serial numbers and verifications are read in three queries and the platform
    is asked for every serial number of the batch at once (`stampings`); each outcome is then stored
    on its own locked ticket, in its own transaction, exactly as for one ticket.
    """
    tickets = Ticket.objects.filter(pk__in=ticket_ids).prefetch_related(
        Prefetch("serials", queryset=SerialNumber.objects.order_by("value"))
    )
    found = {ticket.pk: (ticket, [number.value for number in ticket.serials.all()]) for ticket in tickets}
    verifications = {v.ticket_id: v for v in Verification.objects.filter(ticket_id__in=ticket_ids)}
    results, open_claims = {}, []
    for ticket_id in ticket_ids:
        ticket, serials = found.get(ticket_id, (None, []))
        if ticket is None or not needs_verification(ticket, serials):
            # erased since, or its claim is gone: the sweep must not pick it up again
            Verification.objects.filter(ticket_id=ticket_id).update(next_attempt_at=None)
            results[ticket_id] = None
            continue
        verification = verifications.get(ticket_id)
        if verification is None:
            verification, _created = Verification.objects.get_or_create(ticket=ticket)
        results[ticket_id] = verification
        if verification.outcome in OPEN_OUTCOMES:
            open_claims.append((ticket, serials, verification))
    if not open_claims:
        return results
    source = source or records()
    every_serial = sorted({serial for _ticket, serials, _v in open_claims for serial in serials})
    stampings = source.stampings(every_serial) if every_serial else {}
    now = now or timezone.now()
    for ticket, serials, verification in open_claims:
        try:
            judgement = consult(ticket, serials, source, stampings)
        except PlatformUnavailable as exc:
            results[ticket.pk] = record_unavailable(verification, exc, now)
            continue
        results[ticket.pk] = record_judgement(ticket, serials, judgement, now)
    return results


def consult(ticket, serials, source, stampings):
    """Judge the claim by what the source says (`stampings`: its records of the serial numbers, asked
    already; an order is asked here, over the network, with no transaction open)."""
    account = ticket.platform_account_email or ticket.email
    if ticket.category == Category.STAMP_FAILED:
        claimed = {serial: stampings[serial] for serial in serials}
        unavailable = next((found for found in claimed.values() if isinstance(found, Exception)), None)
        if unavailable is not None:
            raise unavailable
        return rules.judge_stampings(stampings=claimed, account=account)
    return rules.judge_order(
        record=source.order(ticket.order_id),
        account=account,
        wants_money=ticket.wants_money_refund(),
        claimed_amount=ticket.amount_paid,
    )


def record_unavailable(verification, error, now):
    attempts = verification.attempts + 1
    retry = attempts < settings.VERIFICATION_MAX_ATTEMPTS
    Verification.objects.filter(pk=verification.pk, outcome__in=OPEN_OUTCOMES).update(
        outcome=Outcome.UNKNOWN,
        reason=Reason.PLATFORM_UNAVAILABLE,
        attempts=attempts,
        checked_at=now,
        next_attempt_at=now + retry_delay(attempts, error.retry_after) if retry else None,
        last_error=str(error)[:2000],
    )
    verification.refresh_from_db()
    return verification


def record_judgement(ticket, serials, judgement, now):
    with transaction.atomic():
        locked = tickets.lock_ticket(ticket)
        verification = Verification.objects.select_for_update().get(ticket=locked)
        if verification.outcome not in OPEN_OUTCOMES:
            return verification  # another worker settled it meanwhile
        original = find_original(locked, serials)
        verification.outcome = judgement.outcome
        verification.reason = judgement.reason
        verification.record = judgement.record
        verification.duplicate_of = original
        verification.checked_at = now
        verification.attempts += 1
        verification.next_attempt_at = None
        verification.last_error = ""
        if original is not None and not locked.possible_duplicate:
            Ticket.objects.filter(pk=locked.pk).update(possible_duplicate=True)
        if judgement.outcome == Outcome.CONFIRMED and original is None:
            _propose(locked, verification, judgement, now)
        verification.save()
    return verification


def _propose(ticket, verification, judgement, now):
    """The system's proposal, once per ticket ever (a proposal sent back is not made again)."""
    if verification.proposed_at is not None or ticket.state not in PROPOSABLE_STATES:
        return
    try:
        with transaction.atomic():
            tickets.fire(
                "propose_remedy",
                ticket=ticket,
                actor=roles.SYSTEM,
                quantity=judgement.quantity,
                amount=judgement.amount,
                note=str(_("Verified by the platform's records.")),
            )
    except WorkflowError as exc:  # e.g. another ticket's remedy took a serial number first
        verification.last_error = str(exc.message)
        return
    verification.proposed_at = now


def find_original(ticket, serials):
    """The ticket whose claim this one repeats: one holding a remedy for the same serial number, or the
    earlier open ticket naming a shared serial number (or the same order)."""
    claim = (
        RemedyClaim.objects.filter(key__in=[claim_key(serial) for serial in serials])
        .exclude(ticket=ticket)
        .select_related("ticket")
        .order_by("id")
        .first()
    )
    if claim is not None:
        return claim.ticket
    if serials:
        others = Ticket.objects.filter(serials__value__in=serials)
    elif ticket.order_id:
        others = Ticket.objects.filter(order_id=ticket.order_id, category=Category.PAID_NOT_CREDITED)
    else:
        return None
    earlier = Q(created_at__lt=ticket.created_at) | Q(created_at=ticket.created_at, pk__lt=ticket.pk)
    remedied = Q(remedies__state__in=LIVE_REMEDY_STATES)
    return (
        others.exclude(pk=ticket.pk)
        .filter(remedied | (Q(state__in=OPEN_STATES) & earlier))
        .order_by("created_at", "pk")
        .first()
    )


# --- one remedy per serial number -------------------------------------------------------------


def claim_key(serial):
    return f"serial:{serial}"


def claim_serials(*, ticket):
    """Called on the locked ticket by every proposal: its serial numbers become this ticket's, or the
    proposal is refused when another ticket's remedy holds one already."""
    keys = [claim_key(serial) for serial in serials_of(ticket)]
    if not keys:
        return
    RemedyClaim.objects.bulk_create(
        [RemedyClaim(key=key, ticket=ticket) for key in keys], ignore_conflicts=True
    )
    taken = RemedyClaim.objects.filter(key__in=keys).exclude(ticket=ticket).select_related("ticket").first()
    if taken is not None:
        raise InvalidParameter(
            _("Serial number %(serial)s is remedied on ticket %(reference)s already.")
            % {"serial": taken.key.split(":", 1)[1], "reference": taken.ticket.reference},
            field="quantity",
        )


def release_serials(*, ticket):
    """A proposal sent back holds its serial numbers no longer."""
    RemedyClaim.objects.filter(ticket=ticket).delete()


def forget_record(*, ticket):
    """Erasure: the platform's record names the applicant's account; the outcome stays."""
    Verification.objects.filter(ticket=ticket).update(record={})
