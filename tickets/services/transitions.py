"""Every workflow transition goes through `fire`: lock the ticket, check, validate, run the hooks, log.

What a transition needs besides its states is declared on it (tickets/workflow.py); this module is
the one path that turns a declaration into a change, for the API, the console, tasks and commands.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransition, can_proceed, has_transition_perm

from tickets import roles, workflow
from tickets.exceptions import InvalidParameter, TransitionForbidden, TransitionNotAllowed
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
