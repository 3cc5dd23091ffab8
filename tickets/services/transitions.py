"""Every workflow transition goes through `fire`: lock the ticket, check, validate, run the hooks, log.

What a transition needs besides its states is declared on it (tickets/workflow.py); this module is
the one path that turns a declaration into a change, for the API, the console, tasks and commands.
`fire_many` is the same path for many tickets at once (bulk approval): the same checks and refusals
per item, but the locks, the hooks, the state change and the log taken and written set-based.
"""

from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from tickets import roles, workflow
from tickets.exceptions import InvalidParameter, TransitionForbidden, TransitionNotAllowed, WorkflowError
from tickets.models import Ticket, TicketTransition


@dataclass
class Change:
    """One transition under way on a locked ticket; `fire()` changes the state and writes the log."""

    ticket: Ticket
    name: str
    actor: object
    source: str
    fired: bool = False
    log: TicketTransition | None = field(default=None)
    params: dict = field(default_factory=dict)  # the validated parameters (fire_many's hooks read them)
    refusal: WorkflowError | None = None  # why fire_many left this item as it was

    def refuse(self, error):
        """A set-based hook's refusal of this one item (the others go on)."""
        self.refusal = error

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
    people_from = getattr(workflow.spec(name).permission, "people_from", None)
    if people_from is not None and actor is not roles.SYSTEM and ticket.state not in people_from:
        raise TransitionNotAllowed(
            _("Not allowed while the ticket is “%(state)s”.") % {"state": ticket.get_state_display()}
        )
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
        change.fire(**_notes(declaration, values), **_model_kwargs(declaration, values, actor))
        change.ticket.forget_current_remedy()
        for hook in workflow.after_hooks(name):
            hook(change, values)
    return change.ticket


def _model_kwargs(declaration, values, actor):
    """What the model's transition method takes besides itself."""
    kwargs = {"actor": actor} if declaration.passes_actor else {}
    if declaration.param("original") is not None:
        kwargs["original"] = values["original"]
    return kwargs


def _notes(declaration, values):
    """The log's note and the note shown to the applicant, from the validated parameters."""
    note = values.get("note") or str(values.get(declaration.note_from) or "")
    public_note = str(values.get(declaration.public) or "") if declaration.public else ""
    return {"note": note, "public_note": public_note}


def fire_many(name, *, items, actor=None):
    """Fire `name` on many tickets in one transaction; returns, per item, None or the refusal.

    `items` are `(ticket_id, params)` pairs. Each item is judged exactly as `fire` judges it (state,
    permission and four eyes, parameters, the `before` hooks) and refused on its own with the same
    error; the others go on. What `fire` does one ticket at a time is done here for the set: the
    tickets are locked in id order in one statement (the lock order of every other path, so two bulk
    runs or a bulk run and a single transition cannot deadlock), the hooks run as their set-based
    twins (`workflow.twin`; a hook without one refuses the whole call with LookupError), the states
    change in one UPDATE per source state and the log rows are written in one INSERT, exactly the rows
    `fire` writes. A ticket named twice is judged again after its first item, as `fire` called twice
    would judge it. An unexpected error (a defect, the database) rolls back the whole set.
    """
    spec = workflow.spec(name)
    if spec is None:
        raise TransitionNotAllowed(_("Unknown transition."))
    if actor is None and spec.system_only:
        actor = roles.SYSTEM
    before, after = workflow.twins(workflow.before_hooks(name)), workflow.twins(workflow.after_hooks(name))
    items = list(items)
    refusals = [None] * len(items)
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().filter(pk__in={ticket_id for ticket_id, _params in items})
        tickets = {ticket.pk: ticket for ticket in locked.order_by("pk")}
        Ticket.read_current_remedies(tickets.values())
        for wave in _waves(items):
            changes = {}
            for index in wave:
                ticket_id, params = items[index]
                if ticket_id not in tickets:
                    raise Ticket.DoesNotExist(f"no ticket {ticket_id}")
                changes[index] = _judged(tickets[ticket_id], name, actor, params)
            live = _run_before(before, [change for change in changes.values() if change.refusal is None])
            _change_states(live, spec.declaration, actor)
            Ticket.read_current_remedies([change.ticket for change in live])
            for hook in after:
                hook(live)
            for index, change in changes.items():
                refusals[index] = change.refusal
    return refusals


def _run_before(before, live):
    """The `before` twins on the live changes; the changes none of them refused.

    A twin refuses an item before writing anything for it, but the twins before it have written for
    that item already. Then the items' writes are rolled back to the savepoint taken before the first
    twin and the twins run again for the items still accepted, as `fire` rolls back an item a later
    hook refused; an item refused in any round stays refused (the cautious side: one that another
    refused item's writes alone made refuse is not judged again).
    """
    while True:
        savepoint = transaction.savepoint()
        rerun = False
        for position, hook in enumerate(before):
            hook(live)
            accepted = [change for change in live if change.refusal is None]
            rerun = position > 0 and len(accepted) != len(live)
            live = accepted
            if rerun:
                break
        if not rerun:
            transaction.savepoint_commit(savepoint)
            return live
        transaction.savepoint_rollback(savepoint)


def _waves(items):
    """The items' indexes in rounds where each ticket appears once: its second item comes after its first."""
    seen = Counter()
    waves = defaultdict(list)
    for index, (ticket_id, _params) in enumerate(items):
        waves[seen[ticket_id]].append(index)
        seen[ticket_id] += 1
    return [waves[number] for number in sorted(waves)]


def _judged(ticket, name, actor, params):
    """One item checked as `fire` checks it: a Change with its validated parameters, or its refusal."""
    change = Change(ticket=ticket, name=name, actor=actor, source=ticket.state)
    try:
        check_transition(ticket, name, actor)
        change.params = _validated(ticket, workflow.spec(name).declaration, params)
    except WorkflowError as exc:
        change.refuse(exc)
    return change


def _change_states(changes, declaration, actor):
    """`Change.fire` for many tickets: the model's transition on each, one UPDATE per source state and
    set of changed values (the same on every row, as a rule), one INSERT of the log rows."""
    now = timezone.now()
    columns = [field.attname for field in Ticket._meta.concrete_fields]
    groups = defaultdict(list)
    for change in changes:
        ticket = change.ticket
        was = {column: getattr(ticket, column) for column in columns}
        getattr(ticket, change.name)(**_model_kwargs(declaration, change.params, actor))
        ticket.state_changed_at = ticket.updated_at = now
        values = tuple(
            (column, getattr(ticket, column)) for column in columns if getattr(ticket, column) != was[column]
        )
        groups[(change.source, values)].append(ticket.pk)
    for (source, values), ids in groups.items():
        if Ticket.objects.filter(pk__in=ids, state=source).update(**dict(values)) != len(ids):
            raise TransitionNotAllowed(_("Another change to this ticket happened first."))
    kind = roles.actor_kind(actor)
    logs = TicketTransition.objects.bulk_create(
        TicketTransition(
            ticket=change.ticket,
            name=change.name,
            source=change.source,
            target=change.ticket.state,
            actor=actor if kind == "staff" else None,
            actor_kind=kind,
            created_at=now,
            **_notes(declaration, change.params),
        )
        for change in changes
    )
    for change, log in zip(changes, logs, strict=True):
        change.log, change.fired = log, True


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
