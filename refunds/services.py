"""Propose, approve and apply remedies: each approved remedy is applied exactly once, with a ledger entry.

The remedy's state changes only through its transitions (`Remedy.approve`, `withdraw`, `mark_applied`,
`mark_failed`, `retry`), called here on locked rows; `refunds.consistency` states how that state fits
the ticket's, and the hooks check it after every transition that moves a remedy.

Lock order, everywhere: **the ticket, then its remedy.** Approval, send-back and retry lock the
ticket in the workflow service (`tickets.services.fire`) and the remedy in their hooks here;
`record_application` and `record_failure` lock the ticket and then the remedy (`_lock_ticket_then_remedy`)
before firing the ticket's transition; erasure locks the ticket and then redacts its remedies
(the `personal_data_erased` hook); bulk approval (`approve_remedies`, `tickets.services.fire_many`)
locks its set of tickets in id order, then their proposals in id order (`mark_many_approved`).
Statements that touch a remedy without its ticket (`claim`, `release`,
`note_provider_success`) are single-row updates outside any transaction, holding no other lock
while they wait; `claim_many` locks only remedies, in id order, skipping those locked already; the
sweep only reads.
"""

import logging
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from refunds import retries
from refunds.gateways import GatewayError, gateway_for
from refunds.models import LedgerEntry, Remedy, RemedyKind, RemedyState
from refunds.retries import claim_lease
from tickets import roles
from tickets import services as tickets
from tickets.exceptions import InvalidParameter, TransitionNotAllowed, WorkflowError
from tickets.models import Category, RemedyPreference, Ticket

log = logging.getLogger(__name__)

MAX_STAMPS = 1000
MAX_REFUND_RUPIAH = 100_000_000
SWEEP_BATCH = 5000
# A provider's success is recorded again at once after a database error (not the provider call):
# pauses of 0.5, 1 and 2 seconds, well inside the task's time limit.
RECORDING_ATTEMPTS = 4
RECORDING_PAUSE_SECONDS = 0.5


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
    remedy = _proposal(ticket, proposed_by, quantity, amount, note)
    remedy.save()
    ticket.forget_current_remedy()
    return remedy


def proposer(actor):
    """Who a remedy names as its proposer: the staff member, or None for the system."""
    return actor if roles.actor_kind(actor) == "staff" else None


def create_proposals(changes):
    """`create_proposal` for the items of a `propose_remedy` fired in bulk (the system's proposals of a
    verification batch): each judged on its own and refused with the same message, the accepted ones
    inserted in one statement."""
    remedies = []
    for change in changes:
        params = change.params
        try:
            remedy = _proposal(
                change.ticket,
                proposer(change.actor),
                params.get("quantity"),
                params.get("amount"),
                params.get("note"),
            )
        except InvalidParameter as exc:
            change.refuse(exc)
            continue
        remedies.append(remedy)
        change.ticket.forget_current_remedy()
    return Remedy.objects.bulk_create(remedies)


def _proposal(ticket, proposed_by, quantity, amount, note):
    """The proposal `create_proposal` saves, built and checked (InvalidParameter says what is wrong)."""
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
    return remedy


def _current(ticket, state, remedy_id=None):
    remedy = Remedy.objects.select_for_update().filter(ticket=ticket, state=state).order_by("-id").first()
    if remedy is None or (remedy_id is not None and remedy.pk != int(remedy_id)):
        raise TransitionNotAllowed(_("This ticket has no remedy in that state."))
    ticket.forget_current_remedy()
    return remedy


APPROVAL_FIELDS = ["state", "approved_by", "approved_at", "attempts", "next_attempt_at"]


def mark_approved(*, ticket, approved_by, remedy_id=None):
    """The proposal becomes approved; with `remedy_id`, only if that is the proposal under approval."""
    remedy = _current(ticket, RemedyState.PROPOSED, remedy_id)
    remedy.approve(by=approved_by, at=timezone.now())
    remedy.save(update_fields=APPROVAL_FIELDS)
    return remedy


def mark_many_approved(changes):
    """`mark_approved` for the items of a bulk approval, on tickets `fire_many` has locked.

    The tickets' proposals are locked in one statement, in id order, after the tickets (the one lock
    order); each item is judged as `_current` judges it (its ticket's latest proposal, and the one it
    names) and refused on its own with the same message; the accepted proposals go through the same
    `Remedy.approve` and are saved in one UPDATE (they share the approver and the time)."""
    proposals = Remedy.objects.select_for_update().filter(
        ticket__in=[change.ticket for change in changes], state=RemedyState.PROPOSED
    )
    latest = {}
    for remedy in proposals.order_by("pk"):
        latest[remedy.ticket_id] = remedy
    now = timezone.now()
    alike = defaultdict(list)
    for change in changes:
        remedy = latest.get(change.ticket.pk)
        remedy_id = change.params.get("remedy_id")
        if remedy is None or (remedy_id is not None and remedy.pk != int(remedy_id)):
            change.refuse(TransitionNotAllowed(_("This ticket has no remedy in that state.")))
            continue
        remedy.approve(by=change.actor, at=now)
        alike[tuple(getattr(remedy, name) for name in APPROVAL_FIELDS)].append(remedy.pk)
    for values, ids in alike.items():
        Remedy.objects.filter(pk__in=ids, state=RemedyState.PROPOSED).update(
            **dict(zip(APPROVAL_FIELDS, values, strict=True))
        )


def withdraw(*, ticket, reason):
    remedy = _current(ticket, RemedyState.PROPOSED)
    remedy.withdraw(reason=reason)
    remedy.save(update_fields=["state", "withdrawn_reason"])
    return remedy


def mark_retry(*, ticket):
    """Back to approved after a failure; the same idempotency key is used again."""
    remedy = _current(ticket, RemedyState.FAILED)
    remedy.retry(at=timezone.now())
    remedy.save(update_fields=["state", "last_error", "attempts", "next_attempt_at"])
    return remedy


@dataclass
class ApprovalResult:
    id: object
    ok: bool
    error: str | None = None
    status: int = 200

    def as_dict(self):
        return {"id": self.id, "ok": self.ok, "error": self.error}


def approve_remedies(*, ids, actor):
    """Approve many remedies, each judged on its own exactly as `fire("approve")` judges it (state,
    four eyes, the proposal still the one under approval), in one transaction for the set
    (`tickets.services.fire_many`): the same answer per item as approving them one by one, at a
    fraction of the cost. A remedy named twice is refused the second time, as it would be one by one.
    An unexpected error rolls back the whole set (one by one, the items before it would stand)."""
    found = dict(
        Remedy.objects.filter(
            pk__in=[remedy_id for remedy_id in ids if isinstance(remedy_id, int)]
        ).values_list("pk", "ticket_id")
    )
    asked = [remedy_id for remedy_id in ids if remedy_id in found]
    items = [(found[remedy_id], {"remedy_id": remedy_id}) for remedy_id in asked]
    refusals = iter(tickets.fire_many("approve", items=items, actor=actor) if items else ())
    results = []
    for remedy_id in ids:
        if remedy_id not in found:
            results.append(ApprovalResult(remedy_id, False, str(_("No such remedy.")), 404))
            continue
        refusal = next(refusals)
        if refusal is None:
            results.append(ApprovalResult(remedy_id, True))
        else:
            results.append(ApprovalResult(remedy_id, False, str(refusal.message), refusal.http_status))
    return results


def schedule_application(remedy_id):
    """Hand an approved remedy to a worker, unless operators paused remedies (the sweep resumes them)."""
    from refunds.tasks import apply_remedy

    if settings.REMEDIES_PAUSED:
        return
    try:
        apply_remedy.delay(remedy_id)
    except Exception:  # the broker is unreachable: the approval stands, and the sweep schedules it again
        log.exception("Could not schedule remedy %s; the sweep will", remedy_id)


def schedule_applications(remedy_ids):
    """Hand many approved remedies to the workers, REMEDY_APPLY_BATCH to a task (`apply_remedies`),
    unless operators paused remedies; a batch the broker refused is left to the sweep."""
    from refunds.tasks import apply_remedies

    if settings.REMEDIES_PAUSED:
        return
    ids = list(remedy_ids)
    size = max(settings.REMEDY_APPLY_BATCH, 1)
    for start in range(0, len(ids), size):
        batch = ids[start : start + size]
        try:
            apply_remedies.delay(batch)
        except Exception:
            log.exception("Could not schedule remedies %s..%s; the sweep will", batch[0], batch[-1])


def claimable(now):
    """Approved remedies an attempt may start on now: due and unclaimed, or claimed by a worker that
    died (a claim older than the lease: killed, time limit), whose attempt was due when it started."""
    return Remedy.objects.filter(state=RemedyState.APPROVED).filter(
        Q(claimed_at=None, next_attempt_at__lte=now) | Q(claimed_at__lt=now - claim_lease())
    )


def claim(remedy_id):
    """Claim an approved remedy for one attempt; False when it is not approved, not due yet (its next
    attempt is scheduled later) or another worker holds it."""
    now = timezone.now()
    return bool(
        claimable(now)
        .filter(pk=remedy_id)
        .update(claimed_at=now, attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=None)
    )


def claim_many(remedy_ids):
    """Claim, as `claim` does one, every remedy of `remedy_ids` an attempt may start on now, in one
    short transaction; returns the ids claimed. Rows another worker is claiming at this moment are
    skipped (SKIP LOCKED), never waited for: that worker holds them."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            claimable(now)
            .filter(pk__in=list(remedy_ids))
            .order_by("pk")
            .select_for_update(skip_locked=True)
            .values_list("pk", flat=True)
        )
        Remedy.objects.filter(pk__in=ids).update(
            claimed_at=now, attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=None
        )
    return ids


def attempts_made(remedy_id):
    return Remedy.objects.values_list("attempts", flat=True).get(pk=remedy_id)


def release(*, remedy_id, error, retry_in):
    """A transient failure: record it; the next attempt may claim the remedy in `retry_in` seconds."""
    Remedy.objects.filter(pk=remedy_id, state=RemedyState.APPROVED).update(
        claimed_at=None,
        last_error=str(error)[:2000],
        next_attempt_at=timezone.now() + timedelta(seconds=retry_in),
    )


def attempt_application(*, remedy_id):
    """Call the gateway for an approved remedy (outside any transaction) and record a success.

    Only the worker that claimed the remedy calls the provider, always with the remedy's one
    idempotency key, so a duplicate task, a retry after success or a double click applies nothing
    twice; a worker killed after the provider's success leaves its claim, which the sweep takes over
    once the lease ran out: the re-sent request is answered 409 (already applied) and recorded once.
    Returns True when the remedy is applied (now or before). Raises GatewayError on failure, still
    holding the claim, so that no other worker applies the remedy while this one records a final failure.
    """
    if not claim(remedy_id):
        return Remedy.objects.filter(pk=remedy_id, state=RemedyState.APPLIED).exists()
    remedy = Remedy.objects.select_related("ticket").get(pk=remedy_id)
    gateway = gateway_for(remedy)
    try:
        provider_reference = gateway.apply(remedy)
    except GatewayError:
        raise  # the claim stays until the task decides: release and retry, or record the failure
    except Exception as exc:  # anything unexpected: the sweep claims it again when it is due
        delay = retries.retry_delay(max(attempts_made(remedy_id) - 1, 0))
        release(remedy_id=remedy_id, error=exc, retry_in=delay)
        raise
    record_provider_success(remedy_id=remedy.pk, provider_reference=provider_reference, gateway=gateway.name)
    return True


_executors = {}
_executors_lock = threading.Lock()


def _executor(threads):
    """The process's pool of provider-calling threads (each keeps its own HTTP session alive)."""
    with _executors_lock:
        if threads not in _executors:
            _executors[threads] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="remedies")
        return _executors[threads]


def _call_provider(remedy):
    """In a pool thread: the provider's reference for an applied remedy. No database here."""
    gateway = gateway_for(remedy)
    return gateway.name, gateway.apply(remedy)


def attempt_applications(*, remedy_ids):
    """Apply many approved remedies: one claim for all of them (`claim_many`), the providers called
    concurrently (REMEDY_APPLY_THREADS threads, each on its keep-alive session), and each success
    recorded in its own short transaction as soon as it is answered, as `attempt_application` does.

    The same rules as `attempt_application`: only what this call claimed is sent, each remedy with its
    one idempotency key, so a duplicate batch task or a remedy another worker holds sends nothing; a
    success that cannot be recorded (or a worker killed before it) keeps its claim until the lease
    runs out, and the sweep's re-sent request is answered 409 and recorded once. Returns the
    provider's failures, {remedy id: GatewayError}, still claimed, for the caller to release or fail.
    """
    claimed = claim_many(remedy_ids)
    if not claimed:
        return {}
    remedies = list(Remedy.objects.select_related("ticket").filter(pk__in=claimed).order_by("pk"))
    pool = _executor(max(settings.REMEDY_APPLY_THREADS, 1))
    calls = {pool.submit(_call_provider, remedy): remedy for remedy in remedies}
    failures, successes = {}, []
    for call in as_completed(calls):
        remedy = calls[call]
        try:
            gateway, provider_reference = call.result()
        except GatewayError as exc:
            failures[remedy.pk] = exc
            continue
        except Exception as exc:  # anything unexpected: the sweep claims it again when it is due
            log.exception("Applying remedy %s failed unexpectedly", remedy.pk)
            release(remedy_id=remedy.pk, error=exc, retry_in=retries.retry_delay(max(remedy.attempts - 1, 0)))
            continue
        successes.append((remedy.pk, provider_reference, gateway))
    record_provider_successes(successes)
    return failures


def record_provider_successes(successes):
    """Record many providers' successes, `(remedy_id, provider_reference, gateway)`, set-based: the
    providers' answers noted first (one statement), then one transaction that applies them all
    (`record_applications`). Should that transaction fail, each is recorded on its own
    (`record_provider_success`, with its retries); a success that still cannot be recorded keeps its
    claim, and the sweep's re-sent request is answered 409 and recorded once."""
    if not successes:
        return
    try:
        note_provider_successes(successes)
        record_applications(successes)
    except (DatabaseError, WorkflowError):
        log.warning(
            "Recording %s applied remedies together failed; recording each", len(successes), exc_info=True
        )
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        for remedy_id, provider_reference, gateway in successes:
            try:
                record_provider_success(
                    remedy_id=remedy_id, provider_reference=provider_reference, gateway=gateway
                )
            except DatabaseError:
                continue  # logged; the claim stays, and the sweep's re-sent request is answered 409


def note_provider_successes(successes):
    """`note_provider_success` for many remedies, in one statement."""
    references = {remedy_id: (reference or "")[:128] for remedy_id, reference, _gateway in successes}
    now = timezone.now()
    remedies = list(
        Remedy.objects.filter(pk__in=references, state__in=[RemedyState.APPROVED, RemedyState.FAILED]).only(
            "pk"
        )
    )
    for remedy in remedies:
        remedy.provider_reference, remedy.provider_confirmed_at = references[remedy.pk], now
    Remedy.objects.bulk_update(remedies, ["provider_reference", "provider_confirmed_at"])


def _ledger_entry(remedy, gateway):
    """The ledger entry of an applied remedy (one per remedy, by the one-to-one key)."""
    return LedgerEntry(
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


def _applied_note(remedy, gateway):
    return f"{gateway}: {remedy.provider_reference}"


def record_applications(successes):
    """`record_application` for many remedies in one transaction: their tickets locked in id order,
    then the remedies (the one lock order), each still approved applied once (one UPDATE), their
    ledger entries in one INSERT (the one-to-one key on the remedy still forbids a second), and the
    tickets resolved by `fire_many("remedy_applied")`, the applicants told in one INSERT. A remedy no
    longer approved is left as `record_application` leaves it. Any refusal rolls the whole set back
    (WorkflowError), for the caller to record each on its own."""
    answers = {remedy_id: (reference, gateway) for remedy_id, reference, gateway in successes}
    with transaction.atomic():
        ticket_ids = Remedy.objects.filter(pk__in=answers).values_list("ticket_id", flat=True)
        list(
            Ticket.objects.select_for_update()
            .filter(pk__in=list(ticket_ids))
            .order_by("pk")
            .values_list("pk")
        )
        remedies = list(
            Remedy.objects.select_for_update(of=("self",))
            .select_related("ticket")
            .filter(pk__in=answers)
            .order_by("pk")
        )
        applied = []
        now = timezone.now()
        for remedy in remedies:
            if remedy.state != RemedyState.APPROVED:
                log.warning("Remedy %s confirmed while %s: nothing recorded", remedy.pk, remedy.state)
                continue
            reference, _gateway = answers[remedy.pk]
            remedy.mark_applied(provider_reference=reference, at=now)
            applied.append(remedy)
        if not applied:
            return []
        updated = Remedy.objects.filter(pk__in=[r.pk for r in applied], state=RemedyState.APPROVED).update(
            state=RemedyState.APPLIED, applied_at=now, last_error="", claimed_at=None, next_attempt_at=None
        )
        if updated != len(applied):
            raise TransitionNotAllowed(_("Another change to this remedy happened first."))
        LedgerEntry.objects.bulk_create(_ledger_entry(remedy, answers[remedy.pk][1]) for remedy in applied)
        refusals = tickets.fire_many(
            "remedy_applied",
            items=[
                (remedy.ticket_id, {"note": _applied_note(remedy, answers[remedy.pk][1])})
                for remedy in applied
            ],
        )
        refused = next((refusal for refusal in refusals if refusal is not None), None)
        if refused is not None:
            raise refused  # rolls back the set: the caller records each on its own
    return applied


def record_provider_success(*, remedy_id, provider_reference, gateway):
    """Record a success the provider has applied already, retrying the recording (never the provider
    call) at once after a database error.

    The provider's answer is noted on the remedy first, in its own statement, so that reconciliation
    sees "applied at the provider, not recorded" if the ledger entry cannot be written. When every
    attempt fails the error is raised with the claim still held: the sweep takes the remedy over after
    the lease, and the provider answers the re-sent request with 409.
    """
    for attempt in range(1, RECORDING_ATTEMPTS + 1):
        try:
            note_provider_success(remedy_id=remedy_id, provider_reference=provider_reference)
            return record_application(
                remedy_id=remedy_id, provider_reference=provider_reference, gateway=gateway
            )
        except DatabaseError:
            if attempt == RECORDING_ATTEMPTS:
                log.exception("Remedy %s applied by %s but could not be recorded", remedy_id, gateway)
                raise
            log.warning("Recording remedy %s failed (attempt %s); trying again", remedy_id, attempt)
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()  # a broken connection is opened again
            time.sleep(RECORDING_PAUSE_SECONDS * 2 ** (attempt - 1))


def note_provider_success(*, remedy_id, provider_reference):
    """The provider's success and reference, on a remedy not yet recorded as applied."""
    Remedy.objects.filter(pk=remedy_id, state__in=[RemedyState.APPROVED, RemedyState.FAILED]).update(
        provider_reference=(provider_reference or "")[:128], provider_confirmed_at=timezone.now()
    )


def _lock_ticket_then_remedy(remedy_id):
    """The one lock order: the ticket, then its remedy."""
    ticket_id = Remedy.objects.values_list("ticket_id", flat=True).get(pk=remedy_id)
    Ticket.objects.select_for_update().filter(pk=ticket_id).values_list("pk", flat=True).get()
    return Remedy.objects.select_for_update(of=("self",)).select_related("ticket").get(pk=remedy_id)


def record_application(*, remedy_id, provider_reference, gateway):
    """The provider confirmed: remedy applied, ledger entry and ticket resolved, all in one transaction.

    Runs once per remedy: the ticket and the remedy rows are locked (in that order) and the remedy must
    still be approved; the ledger's one-to-one key on the remedy makes a second entry impossible even
    so. A success for a remedy recorded as failed is kept on it for reconciliation, not applied.
    """
    with transaction.atomic():
        remedy = _lock_ticket_then_remedy(remedy_id)
        if remedy.state != RemedyState.APPROVED:
            log.warning(
                "Remedy %s confirmed by %s while %s: nothing recorded", remedy.pk, gateway, remedy.state
            )
            if remedy.state == RemedyState.FAILED:
                note_provider_success(remedy_id=remedy.pk, provider_reference=provider_reference)
            return remedy
        remedy.mark_applied(provider_reference=provider_reference, at=timezone.now())
        remedy.save(
            update_fields=[
                "state",
                "applied_at",
                "provider_reference",
                "provider_confirmed_at",
                "last_error",
                "claimed_at",
                "next_attempt_at",
            ]
        )
        _ledger_entry(remedy, gateway).save()
        tickets.fire("remedy_applied", ticket=remedy.ticket, note=_applied_note(remedy, gateway))
    return remedy


def record_failure(*, remedy_id, error):
    """Retries are exhausted or the provider refused for good: the ticket goes to remedy_failed."""
    with transaction.atomic():
        remedy = _lock_ticket_then_remedy(remedy_id)
        if remedy.state != RemedyState.APPROVED:
            return remedy
        remedy.mark_failed(error=error, at=timezone.now())
        remedy.save(update_fields=["state", "failed_at", "last_error", "claimed_at", "next_attempt_at"])
        tickets.fire("remedy_failed", ticket=remedy.ticket, error=remedy.last_error)
    return remedy


def due_remedies(*, now=None):
    """Approved remedies whose next attempt no task has started: due for longer than the grace the
    sweep leaves to the task on its way (never scheduled while paused, a broker that lost it, a retry
    left to the sweep), or claimed by a worker that died. A live claim is left alone."""
    now = now or timezone.now()
    return claimable(now - retries.SWEEP_GRACE)


def sweep_remedies():
    """Schedule every due approved remedy; `claim` makes a duplicate schedule harmless (one attempt per
    due time: a task that comes second finds the remedy claimed, applied, or not due again yet)."""
    if settings.REMEDIES_PAUSED:
        return []
    ids = list(due_remedies().order_by("next_attempt_at", "id").values_list("pk", flat=True)[:SWEEP_BATCH])
    for remedy_id in ids:
        schedule_application(remedy_id)
    return ids


__all__ = [
    "approve_remedies",
    "GatewayError",
    "attempt_application",
    "attempt_applications",
    "attempts_made",
    "claim",
    "claim_many",
    "due_remedies",
    "create_proposal",
    "create_proposals",
    "mark_approved",
    "mark_many_approved",
    "mark_retry",
    "record_application",
    "record_provider_success",
    "record_failure",
    "release",
    "schedule_application",
    "schedule_applications",
    "sweep_remedies",
    "withdraw",
]
