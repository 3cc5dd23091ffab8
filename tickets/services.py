"""Operations that change tickets: submitting a report and every workflow transition.

Each transition service locks the ticket row, checks the state and the actor's permission, fires the
django-fsm-2 transition, saves, writes the log and the outbox in one transaction, and schedules any
outside work with `transaction.on_commit`. The API, the admin, tasks and commands all call these.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from tickets import roles, workflow
from tickets.evidence import ProcessedImage, process_image
from tickets.exceptions import InvalidParameter, TransitionForbidden, TransitionNotAllowed
from tickets.models import (
    OPEN_STATES,
    REMEDY_IN_FLIGHT_STATES,
    Category,
    Evidence,
    RemedyPreference,
    SerialNumber,
    State,
    Ticket,
    TicketTransition,
)
from tickets.validators import normalize_whatsapp


@dataclass
class Change:
    """One transition under way on a locked ticket; `fire()` changes the state and writes the log."""

    ticket: Ticket
    name: str
    actor: object
    source: str
    fired: bool = False
    log: TicketTransition | None = field(default=None)

    def fire(self, *, note="", public_note="", **kwargs):
        getattr(self.ticket, self.name)(**kwargs)
        now = timezone.now()
        self.ticket.state_changed_at = now
        try:
            self.ticket.save()
        except ConcurrentTransition as exc:
            raise TransitionNotAllowed(_("Another change to this ticket happened first.")) from exc
        self.log = TicketTransition.objects.create(
            ticket=self.ticket,
            name=self.name,
            source=self.source,
            target=self.ticket.state,
            actor=self.actor if roles.actor_kind(self.actor) == "staff" else None,
            actor_kind=roles.actor_kind(self.actor),
            note=note,
            public_note=public_note,
            created_at=now,
        )
        self.fired = True


def lock_ticket(ticket):
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def check_transition(ticket, name, actor):
    """Raise the error that says why `actor` may not fire `name` on `ticket` now."""
    if workflow.spec(name) is None:
        raise TransitionNotAllowed(_("Unknown transition."))
    method = getattr(ticket, name)
    if not can_proceed(method, check_conditions=False):
        raise TransitionNotAllowed(
            _("Not allowed while the ticket is “%(state)s”.") % {"state": ticket.get_state_display()}
        )
    if not can_proceed(method):
        raise TransitionNotAllowed(_("Not possible for a ticket of this category."))
    if not has_transition_perm(method, actor):
        if name == "approve" and roles.is_supervisor(ticket, actor):
            raise TransitionForbidden(_("You cannot approve a remedy you proposed yourself."))
        raise TransitionForbidden(_("You are not permitted to do this."))


def available_transitions(ticket, actor):
    """Names of the transitions `actor` may fire on `ticket` now."""
    names = []
    for name in workflow.transitions():
        method = getattr(ticket, name)
        if can_proceed(method) and has_transition_perm(method, actor):
            names.append(name)
    return names


@contextmanager
def transitioning(ticket, name, actor):
    """Lock the ticket, check the transition, and let the caller validate and fire it."""
    with transaction.atomic():
        locked = lock_ticket(ticket)
        check_transition(locked, name, actor)
        change = Change(ticket=locked, name=name, actor=actor, source=locked.state)
        yield change
        if not change.fired:
            raise RuntimeError(f"{name} was checked but never fired")


def _validated(ticket, declaration, params):
    """The declared parameters, stripped; a required one left empty is refused with its message."""
    values = {}
    for param in declaration.params:
        value = params.get(param.name)
        if isinstance(value, str):
            value = value.strip()
        if param.required and param.missing and value in (None, ""):
            raise InvalidParameter(param.missing, field=param.name)
        values[param.name] = value
    if declaration.param("original") is not None:
        values["original"] = find_original(ticket, values["original"])
    return values


def fire(name, *, ticket, actor=None, **params):
    """Fire the transition `name`: lock, check, validate, run the hooks, change the state, log.

    The hooks other apps attached (tickets/workflow.py) run in this transaction: `before` ones on the
    locked ticket before its state changes, `after` ones once it changed. System-only transitions
    default to the system as actor.
    """
    spec = workflow.spec(name)
    if spec is None:
        raise TransitionNotAllowed(_("Unknown transition."))
    if actor is None and spec.system_only:
        actor = roles.SYSTEM
    declaration = spec.declaration
    with transitioning(ticket, name, actor) as change:
        values = _validated(change.ticket, declaration, params)
        for hook in workflow.before_hooks(name):
            hook(change, values)
        model_kwargs = {"actor": actor} if declaration.passes_actor else {}
        if declaration.param("original") is not None:
            model_kwargs["original"] = values["original"]
        note = values.get("note") or str(values.get(declaration.note_from) or "")
        public_note = str(values.get(declaration.public) or "") if declaration.public else ""
        change.fire(note=note, public_note=public_note, **model_kwargs)
        change.ticket.forget_current_remedy()
        for hook in workflow.after_hooks(name):
            hook(change, values)
    return change.ticket


def find_original(ticket, original):
    """The ticket another one duplicates, by reference; never the ticket itself."""
    reference = getattr(original, "reference", original)
    reference = (str(reference or "")).strip().upper()
    if not reference:
        raise InvalidParameter(_("Name the original ticket."), field="original")
    found = Ticket.objects.filter(reference=reference).exclude(pk=ticket.pk).first()
    if found is None:
        raise InvalidParameter(_("No other ticket has that reference."), field="original")
    return found


def perform_transition(*, ticket, name, actor, params=None):
    """Fire the transition `name` for a staff actor with the parameters an API or form received."""
    spec = workflow.spec(name)
    if spec is None:
        raise TransitionNotAllowed(_("Unknown transition."))
    if spec.system_only:
        with transaction.atomic():
            check_transition(lock_ticket(ticket), name, actor)  # always refused for people
    params = dict(params or {})
    kwargs = {param.name: params[param.name] for param in spec.declaration.params if param.name in params}
    return fire(name, ticket=ticket, actor=actor, **kwargs)


def required_text(value, field_name, message):
    value = (value or "").strip()
    if not value:
        raise InvalidParameter(message, field=field_name)
    return value


# --- assignment -------------------------------------------------------------------------------


def assign(*, ticket, actor, assignee):
    """Give a ticket to an agent (or take it away with assignee=None)."""
    if not roles.is_agent(ticket, actor):
        raise TransitionForbidden(_("You are not permitted to do this."))
    if assignee is not None and not roles.is_agent(ticket, assignee):
        raise InvalidParameter(_("Tickets can only be assigned to agents."), field="assignee")
    with transaction.atomic():
        locked = lock_ticket(ticket)
        locked.assigned_to = assignee
        locked.save(update_fields=["assigned_to", "updated_at"])
    return locked


def claim_next(*, actor):
    """Give the agent the oldest unassigned reported ticket; never the same one to two agents.

    On PostgreSQL `SKIP LOCKED` lets agents pressing "next ticket" at once each take a different row
    instead of queueing behind one lock; SQLite serialises the transactions instead.
    """
    if not roles.is_agent(None, actor):
        raise TransitionForbidden(_("You are not permitted to do this."))
    for _attempt in range(5):
        with transaction.atomic():
            candidate = (
                Ticket.objects.select_for_update(skip_locked=True)
                .filter(state=State.REPORTED, assigned_to=None)
                .order_by("created_at", "id")
                .first()
            )
            if candidate is None:
                return None
            try:
                return fire("start_review", ticket=candidate, actor=actor)
            except TransitionNotAllowed:
                continue  # taken between the look and the lock (SQLite); try the next one
    return None


def send_info_reminder(*, ticket):
    """Remind the applicant once that the ticket waits for their answer (the workflow timers call it).

    Returns the ticket, or None when the reminder had been sent already."""
    with transaction.atomic():
        locked = lock_ticket(ticket)
        if locked.state != State.AWAITING_INFO:
            raise TransitionNotAllowed(
                _("Not allowed while the ticket is “%(state)s”.") % {"state": locked.get_state_display()}
            )
        if locked.info_reminder_sent_at is not None:
            return None  # sent already (by another worker, or an earlier run)
        locked.info_reminder_sent_at = timezone.now()
        locked.save(update_fields=["info_reminder_sent_at", "updated_at"])
        workflow.emit("info_reminder", ticket=locked)
    return locked


# --- personal data ----------------------------------------------------------------------------

REDACTED = "[redacted]"


def erase_personal_data(*, ticket, actor, note=""):
    """Erase the applicant's personal data from a ticket, keeping the ledger and the statistics.

    Evidence files go, NIK, contact details, payout account and free text are replaced with
    redactions; the workflow log keeps who, when and which states (with notes redacted) and records
    the erasure itself. While a remedy is in flight (proposed, approved, being applied) the platform
    account or the payout account is still needed: the request is recorded, the applicant is told it
    will be carried out once the remedy is processed, and `tickets.tasks.erase_expired` does it then.
    Returns the ticket (`erased_at` tells which happened), or None when it was erased already.
    """
    if actor is not roles.SYSTEM and not roles.is_agent(ticket, actor):
        raise TransitionForbidden(_("You are not permitted to do this."))
    with transaction.atomic():
        locked = lock_ticket(ticket)
        if locked.erased_at is not None:
            return None  # erased already
        if locked.state in REMEDY_IN_FLIGHT_STATES:
            return _defer_erasure(locked, actor, note)
        _erase(locked, actor, note)
    return locked


def _defer_erasure(ticket, actor, note):
    if ticket.erasure_requested_at is not None:
        return ticket  # requested already: the applicant was told
    now = timezone.now()
    ticket.erasure_requested_at = now
    ticket.save(update_fields=["erasure_requested_at", "updated_at"])
    _log_erasure_step(ticket, "erasure_requested", actor, note, now)
    workflow.emit("erasure_scheduled", ticket=ticket)
    return ticket


def _log_erasure_step(ticket, name, actor, note, now):
    TicketTransition.objects.create(
        ticket=ticket,
        name=name,
        source=ticket.state,
        target=ticket.state,
        actor=actor if roles.actor_kind(actor) == "staff" else None,
        actor_kind=roles.actor_kind(actor),
        note=note,
        created_at=now,
    )


def _erase(locked, actor, note):
    """Redact a locked ticket whose remedy (if any) is no longer in flight."""
    files = []
    for item in Evidence.objects.filter(ticket=locked):
        files += [stored for stored in (item.file, item.thumbnail) if stored.name]
    Evidence.objects.filter(ticket=locked).delete()
    now = timezone.now()
    for name in ("full_name", "description", "document_name", "payout_name"):
        setattr(locked, name, REDACTED if getattr(locked, name) else "")
    for name in ("nik", "email", "whatsapp", "platform_account_email", "payout_account"):
        setattr(locked, name, "")
    locked.erased_at = now
    locked.save()
    workflow.emit("personal_data_erased", ticket=locked, redacted=REDACTED)
    # The log is append-only for changes of state; its free text is personal data all the same.
    TicketTransition.objects.filter(ticket=locked).exclude(note="", public_note="").update(
        note=REDACTED, public_note=""
    )
    _log_erasure_step(locked, "erase_personal_data", actor, note, now)
    transaction.on_commit(lambda: delete_files(files))


def delete_files(files):
    for stored in files:
        stored.storage.delete(stored.name)


# --- intake -----------------------------------------------------------------------------------


def submit_report(
    *, data, serial_numbers=(), evidence=(), channel="web", on_created=None, confirmation="report_received"
):
    """Create a ticket from a validated report, with its serial numbers, evidence and confirmations.

    `evidence` holds already checked images as (name, bytes) pairs, re-encoded before the transaction
    opens so no lock is held while pixels are processed (or as (name, ProcessedImage) pairs when the
    caller processed them already). `on_created(ticket)` runs
    inside the transaction before any file is written (the API stores its idempotency record there, and
    a duplicate key refused by the database leaves nothing behind). Files written by a transaction that
    then rolls back are deleted again. `confirmation` is the event the applicant is told (a ticket
    opened by an inbound message gets one with the privacy notice).
    """
    processed = processed_images(evidence)
    stored = []
    try:
        return _create_report(data, serial_numbers, processed, channel, on_created, confirmation, stored)
    except BaseException:
        delete_files(stored)
        raise


def processed_images(evidence):
    """(name, ProcessedImage) pairs: raw bytes are re-encoded here, images already processed pass."""
    return [
        (name, content if isinstance(content, ProcessedImage) else process_image(content))
        for name, content in evidence
    ]


def _create_report(data, serial_numbers, processed, channel, on_created, confirmation, stored):
    with transaction.atomic():
        ticket = Ticket(channel=channel, consent_at=timezone.now(), **data)
        if ticket.category == Category.PAID_NOT_CREDITED and not ticket.remedy_preference:
            ticket.remedy_preference = RemedyPreference.QUOTA
        ticket.possible_duplicate = bool(serial_numbers) and (
            SerialNumber.objects.filter(value__in=serial_numbers, ticket__state__in=OPEN_STATES).exists()
        )
        ticket.save()
        SerialNumber.objects.bulk_create(SerialNumber(ticket=ticket, value=value) for value in serial_numbers)
        TicketTransition.objects.create(
            ticket=ticket,
            name="report",
            source="",
            target=ticket.state,
            actor_kind=roles.actor_kind(roles.APPLICANT),
            created_at=ticket.created_at,
        )
        if on_created is not None:
            on_created(ticket)
        for name, image in processed:
            item = attach_evidence(ticket=ticket, name=name, image=image, source=channel)
            stored.extend([item.file, item.thumbnail])
        workflow.emit("report_created", ticket=ticket, confirmation=confirmation)
    return ticket


def attach_evidence(*, ticket, name, image, source=Evidence.Source.UPLOAD, message=None):
    """Store one processed screenshot on a ticket; flag the ticket when the same picture is on another."""
    stem = (name or "evidence").rsplit("/", 1)[-1].rsplit(".", 1)[0][:60] or "evidence"
    item = Evidence(
        ticket=ticket,
        message=message,
        source=source if source in Evidence.Source.values else Evidence.Source.UPLOAD,
        content_type=image.content_type,
        width=image.width,
        height=image.height,
        size_bytes=len(image.content),
        sha256=image.sha256,
        original_name=(name or "")[:255],
    )
    item.file.save(f"{stem}.{image.extension}", ContentFile(image.content), save=False)
    item.thumbnail.save(f"{stem}-thumb.jpg", ContentFile(image.thumbnail), save=False)
    item.save()
    reused = Evidence.objects.filter(sha256=image.sha256).exclude(ticket=ticket).exists()
    if reused and not ticket.possible_duplicate:
        Ticket.objects.filter(pk=ticket.pk).update(possible_duplicate=True)
        ticket.possible_duplicate = True
    return item


# --- a lost tracking link ---------------------------------------------------------------------


def resend_tracking_link(*, reference, contact):
    """Send the tracking link again to the contact given, if it is the one on file for that ticket.

    Answers nothing either way (True only for tests and logs): who reported what is never revealed.
    """
    ticket = Ticket.objects.filter(reference=str(reference or "").strip().upper(), erased_at=None).first()
    contact = str(contact or "").strip()
    if ticket is None or not contact:
        return False
    if "@" in contact:
        channel = "email"
        matches = contact.lower() == ticket.email.lower()
    else:
        channel = "whatsapp"
        try:
            matches = normalize_whatsapp(contact) == ticket.whatsapp
        except ValidationError:
            matches = False
    if not matches:
        return False
    with transaction.atomic():
        workflow.emit("tracking_link", ticket=ticket, channel=channel)
    return True
