"""Verify a ticket's claim against the platform's records; the system proposes the remedy they confirm.

The platform is asked outside any transaction; the outcomes of a batch are then stored set-based on
its locked tickets, where the system proposal is made at most once per ticket
(`Verification.proposed_at`), never for a ticket that duplicates another's serial number or order,
and never for a serial number another ticket's remedy holds (`RemedyClaim`, unique by key).
"""

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from refunds.models import Remedy, RemedyState
from tickets import roles
from tickets import services as tickets
from tickets.exceptions import InvalidParameter
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
    is asked for every serial number of the batch at once (`stampings`), with no transaction open;
    the outcomes are then stored set-based, in one transaction (`record`).
    """
    ticket_ids = list(dict.fromkeys(ticket_ids))
    tickets = Ticket.objects.filter(pk__in=ticket_ids).prefetch_related(
        Prefetch("serials", queryset=SerialNumber.objects.order_by("value"))
    )
    found = {ticket.pk: (ticket, [number.value for number in ticket.serials.all()]) for ticket in tickets}
    verifications = {v.ticket_id: v for v in Verification.objects.filter(ticket_id__in=ticket_ids)}
    results, claims, gone = {}, [], []
    for ticket_id in ticket_ids:
        ticket, serials = found.get(ticket_id, (None, []))
        if ticket is None or not needs_verification(ticket, serials):
            gone.append(ticket_id)
            results[ticket_id] = None
        else:
            claims.append((ticket, serials))
    if gone:  # erased since, or its claim is gone: the sweep must not pick it up again
        Verification.objects.filter(ticket_id__in=gone).update(next_attempt_at=None)
    missing = [ticket for ticket, _serials in claims if ticket.pk not in verifications]
    if missing:
        Verification.objects.bulk_create(
            [Verification(ticket=ticket) for ticket in missing], ignore_conflicts=True
        )
        verifications.update({v.ticket_id: v for v in Verification.objects.filter(ticket__in=missing)})
    open_claims = []
    for ticket, serials in claims:
        results[ticket.pk] = verifications[ticket.pk]
        if verifications[ticket.pk].outcome in OPEN_OUTCOMES:
            open_claims.append((ticket, serials))
    if not open_claims:
        return results
    source = source or records()
    every_serial = sorted({serial for _ticket, serials in open_claims for serial in serials})
    stampings = source.stampings(every_serial) if every_serial else {}
    judged = []
    for ticket, serials in open_claims:
        try:
            judged.append((ticket, serials, consult(ticket, serials, source, stampings)))
        except PlatformUnavailable as exc:
            judged.append((ticket, serials, exc))
    results.update(record(judged, now or timezone.now()))
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


UNAVAILABLE_FIELDS = ["outcome", "reason", "attempts", "checked_at", "next_attempt_at", "last_error"]
JUDGED_FIELDS = [*UNAVAILABLE_FIELDS, "record", "duplicate_of_id", "proposed_at"]


def record(judged, now):
    """Store the outcomes of `judged` ((ticket, serials, Judgement or PlatformUnavailable) triples):
    {ticket id: Verification}.

    One transaction for the batch: its tickets locked in one statement in id order, then their
    verifications (the lock order is the ticket, then what hangs off it; `fire_many` locks the same
    tickets again and then their remedies); an outcome another worker settled meanwhile is kept. The
    duplicates are found for the set (`find_originals`), the verifications written with one UPDATE per
    kind of outcome, and the system's proposals made by one `fire_many("propose_remedy")`, each item
    judged and refused on its own exactly as `fire` would (a serial number another ticket's remedy
    holds, an incident that leaves its reports to the agents): a refused proposal keeps its reason in
    `last_error` and is never made again by the system, as before.
    """
    ids = sorted(ticket.pk for ticket, _serials, _found in judged)
    results, unavailable, settled = {}, [], []
    with transaction.atomic():
        locked = {
            ticket.pk: ticket
            for ticket in Ticket.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        }
        verifications = {
            v.ticket_id: v
            for v in Verification.objects.select_for_update().filter(ticket_id__in=ids).order_by("ticket_id")
        }
        for ticket, serials, found in judged:
            verification = verifications.get(ticket.pk)
            if ticket.pk not in locked or verification is None:
                continue  # gone meanwhile
            results[ticket.pk] = verification
            if verification.outcome not in OPEN_OUTCOMES:
                continue  # another worker settled it meanwhile
            if isinstance(found, PlatformUnavailable):
                _note_unavailable(verification, found, now)
                unavailable.append(verification)
            else:
                settled.append((locked[ticket.pk], serials, found, verification))
        _write(unavailable, UNAVAILABLE_FIELDS)
        originals = find_originals([(ticket, serials) for ticket, serials, _found, _v in settled])
        proposals = []
        for ticket, _serials, judgement, verification in settled:
            verification.outcome = judgement.outcome
            verification.reason = judgement.reason
            verification.record = judgement.record
            verification.duplicate_of_id = originals.get(ticket.pk)
            verification.checked_at = now
            verification.attempts += 1
            verification.next_attempt_at = None
            verification.last_error = ""
            if (
                judgement.outcome == Outcome.CONFIRMED
                and ticket.pk not in originals
                and verification.proposed_at is None  # once per ticket ever: one sent back is not made again
                and ticket.state in PROPOSABLE_STATES
            ):
                proposals.append((ticket, judgement, verification))
        flagged = [
            ticket.pk
            for ticket, *_rest in settled
            if ticket.pk in originals and not ticket.possible_duplicate
        ]
        if flagged:
            Ticket.objects.filter(pk__in=flagged).update(possible_duplicate=True)
        _propose(proposals, now)
        _write([v for *_rest, v in settled], JUDGED_FIELDS)
    return results


def _write(verifications, fields):
    """`bulk_update` of these fields at a fraction of its cost: one UPDATE per set of equal values (a
    batch's outcomes share most of theirs), and the platform's records, each its own, in one more."""
    shared = [name for name in fields if name != "record"]
    alike = defaultdict(list)
    for verification in verifications:
        alike[tuple(getattr(verification, name) for name in shared)].append(verification.pk)
    for values, ids in alike.items():
        Verification.objects.filter(pk__in=ids).update(**dict(zip(shared, values, strict=True)))
    if "record" in fields and verifications:
        Verification.objects.bulk_update(verifications, ["record"])


def _note_unavailable(verification, error, now):
    verification.attempts += 1
    retry = verification.attempts < settings.VERIFICATION_MAX_ATTEMPTS
    verification.outcome = Outcome.UNKNOWN
    verification.reason = Reason.PLATFORM_UNAVAILABLE
    verification.checked_at = now
    verification.next_attempt_at = (
        now + retry_delay(verification.attempts, error.retry_after) if retry else None
    )
    verification.last_error = str(error)[:2000]


def _propose(proposals, now):
    """The system's proposals of a batch, in one `fire_many`; each accepted one is marked proposed."""
    if not proposals:
        return
    note = str(_("Verified by the platform's records."))
    items = [
        (ticket.pk, {"quantity": judgement.quantity, "amount": judgement.amount, "note": note})
        for ticket, judgement, _verification in proposals
    ]
    refusals = tickets.fire_many("propose_remedy", items=items, actor=roles.SYSTEM)
    for (_ticket, _judgement, verification), refusal in zip(proposals, refusals, strict=True):
        if refusal is None:
            verification.proposed_at = now
        else:  # e.g. another ticket's remedy took a serial number first
            verification.last_error = str(refusal.message)


def find_originals(claims):
    """{ticket id: id of the ticket its claim repeats} for the (ticket, serials) pairs that repeat one,
    in four queries for the set: the ticket holding a remedy claim on one of its serial numbers (the
    oldest claim), else the first (by creation) other ticket naming a shared serial number (or the same
    order) that holds a live remedy or is open and was created earlier."""
    every_serial = {serial for _ticket, serials in claims for serial in serials}
    holders = dict(  # key -> (claim id, ticket id); a key is claimed once at most
        (key, (claim_id, holder))
        for claim_id, key, holder in RemedyClaim.objects.filter(
            key__in=[claim_key(serial) for serial in every_serial]
        ).values_list("id", "key", "ticket_id")
    )
    orders = {ticket.order_id for ticket, serials in claims if not serials and ticket.order_id}
    naming = defaultdict(set)  # serial number or ("order", id) -> ticket ids naming it
    facts = {}  # ticket id -> (created_at, state)
    for value, ticket_id, created_at, state in SerialNumber.objects.filter(
        value__in=every_serial
    ).values_list("value", "ticket_id", "ticket__created_at", "ticket__state"):
        naming[value].add(ticket_id)
        facts[ticket_id] = (created_at, state)
    if orders:
        others = Ticket.objects.filter(order_id__in=orders, category=Category.PAID_NOT_CREDITED)
        for ticket_id, order_id, created_at, state in others.values_list(
            "pk", "order_id", "created_at", "state"
        ):
            naming[("order", order_id)].add(ticket_id)
            facts[ticket_id] = (created_at, state)
    remedied = set(
        Remedy.objects.filter(ticket_id__in=list(facts), state__in=LIVE_REMEDY_STATES).values_list(
            "ticket_id", flat=True
        )
    )
    originals = {}
    for ticket, serials in claims:
        held = [
            holders[key] for key in map(claim_key, serials) if key in holders and holders[key][1] != ticket.pk
        ]
        if held:
            originals[ticket.pk] = min(held)[1]
            continue
        if serials:
            candidates = set().union(*(naming[serial] for serial in serials))
        elif ticket.order_id:
            candidates = set(naming[("order", ticket.order_id)])
        else:
            continue
        own = (ticket.created_at, ticket.pk)
        earlier = [
            other
            for other in candidates - {ticket.pk}
            if other in remedied or (facts[other][1] in OPEN_STATES and (facts[other][0], other) < own)
        ]
        if earlier:
            originals[ticket.pk] = min(earlier, key=lambda other: (facts[other][0], other))
    return originals


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
        raise _taken(taken.key, taken.ticket.reference)


def claim_many_serials(changes):
    """`claim_serials` for the items of a `propose_remedy` fired in bulk, on tickets `fire_many` has
    locked, in items' order: an item is refused (before anything is written for it) when a claim in the
    database or an earlier item of the set holds one of its serial numbers; the others' claims are
    inserted in one statement, the unique key still deciding. An item that lost a key to a concurrent
    proposal meanwhile (the insert skipped it) has what it inserted deleted again and is refused."""
    serials = defaultdict(list)
    tickets = {change.ticket.pk: change.ticket for change in changes}
    for ticket_id, value in (
        SerialNumber.objects.filter(ticket__in=list(tickets))
        .order_by("value")
        .values_list("ticket_id", "value")
    ):
        serials[ticket_id].append(claim_key(value))
    every_key = [key for keys in serials.values() for key in keys]
    holders = {  # key -> (claim id or None for this set's, ticket id, reference)
        key: (claim_id, holder, reference)
        for claim_id, key, holder, reference in RemedyClaim.objects.filter(key__in=every_key).values_list(
            "id", "key", "ticket_id", "ticket__reference"
        )
    }
    claimed = defaultdict(list)  # ticket id -> keys it claims now
    for change in changes:
        ticket = change.ticket
        keys = serials.get(ticket.pk, [])
        taken = [holders[key] + (key,) for key in keys if key in holders and holders[key][1] != ticket.pk]
        if taken:  # the oldest claim, as `claim_serials` reports it; then this set's, in order
            _claim_id, _holder, reference, key = min(taken, key=lambda held: (held[0] is None, held[0] or 0))
            change.refuse(_taken(key, reference))
            continue
        for key in keys:
            if key not in holders:
                holders[key] = (None, ticket.pk, ticket.reference)
                claimed[ticket.pk].append(key)
    RemedyClaim.objects.bulk_create(
        [RemedyClaim(key=key, ticket_id=ticket_id) for ticket_id, keys in claimed.items() for key in keys],
        ignore_conflicts=True,
    )
    new_keys = [key for keys in claimed.values() for key in keys]
    lost = {
        key: (holder, reference)
        for key, holder, reference in RemedyClaim.objects.filter(key__in=new_keys).values_list(
            "key", "ticket_id", "ticket__reference"
        )
    }
    for change in changes:
        keys = claimed.get(change.ticket.pk, [])
        taken = next((key for key in keys if lost.get(key, (change.ticket.pk,))[0] != change.ticket.pk), None)
        if taken is not None:
            RemedyClaim.objects.filter(ticket=change.ticket, key__in=keys).delete()
            change.refuse(_taken(taken, lost[taken][1]))


def _taken(key, reference):
    return InvalidParameter(
        _("Serial number %(serial)s is remedied on ticket %(reference)s already.")
        % {"serial": key.split(":", 1)[1], "reference": reference},
        field="quantity",
    )


def release_serials(*, ticket):
    """A proposal sent back holds its serial numbers no longer."""
    RemedyClaim.objects.filter(ticket=ticket).delete()


def forget_record(*, ticket):
    """Erasure: the platform's record names the applicant's account; the outcome stays."""
    Verification.objects.filter(ticket=ticket).update(record={})
