"""What each workflow transition needs besides its states, declared once, and the hooks outer apps attach.

The `@transition` decorators on `Ticket` are the one source of states and permissions. Each carries
`custom=declare(...)`: its labels, its parameters and their validation, its button style and what the
applicant is told. The service dispatch, the console's buttons and forms, the staff API and its
schema and `available_transitions` are all derived from these declarations.

`tickets` is the core and imports neither `refunds` nor `notifications`. What a transition sets off in
those apps (create or approve a remedy, tell the applicant) is attached from there with `on(...)`, and
run by the transition's service inside its transaction: `before` hooks on the locked ticket before the
state changes (they may refuse with `InvalidParameter`), `after` hooks once it changed. Other domain
events (a report received, a reminder due) use the same registry through `emit()`. A hook may have a
set-based twin (`twin(hook)`), run once for many tickets when a transition is fired in bulk
(`services.fire_many`).
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tickets import roles

# --- declarations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One parameter of a transition, as a form field, an API field and its validation."""

    name: str
    label: Promise | str
    kind: str = "textarea"  # textarea | number | text (the console's input)
    required: bool = False
    missing: Promise | str = ""  # the refusal when a required parameter is left empty
    applies: Callable[[Any], bool] | None = None  # the console shows it only for tickets where True
    initial: Callable[[Any], Any] | None = None  # the console's prefilled value
    help: Promise | str = ""  # the staff API schema's description
    only_for: str = ""  # in words, the tickets it applies to (the workflow's table)
    internal: bool = False  # passed by our own code (bulk approval), never offered to people

    def shown_for(self, ticket):
        return self.applies is None or self.applies(ticket)


NOTE = Param("note", _("Note (optional)"), help=_("A note for the log."))


@dataclass(frozen=True)
class Declaration:
    """Everything about a transition that is not its states or its permission."""

    label: Promise | str
    params: tuple[Param, ...] = (NOTE,)
    danger: bool = False  # the console paints the button as destructive
    tells_applicant: str = ""  # the notification event sent when it fires ('' = nothing)
    public: str = ""  # the parameter shown to the applicant as the public note of the log
    note_from: str = ""  # the parameter logged as the note when `note` is empty
    passes_actor: bool = False  # the model method takes the actor (`actor=`)
    console: bool = True  # offered as a button to staff (system transitions never are)

    def param(self, name):
        return next((param for param in self.params if param.name == name), None)


def declare(label, **kwargs):
    """The `custom=` of a `@transition`: `@transition(..., custom=declare(_("Reject"), danger=True))`."""
    params = kwargs.pop("params", (NOTE,))
    return {"declaration": Declaration(label=label, params=tuple(params), **kwargs)}


@dataclass(frozen=True)
class TransitionSpec:
    """One transition of the ticket workflow as the rest of the code sees it."""

    name: str
    sources: tuple[str, ...]
    target: str
    permission: Callable
    declaration: Declaration

    @property
    def system_only(self):
        """Fired by the system alone: never a button, never reachable through the staff API."""
        return self.permission is roles.is_system


def transitions():
    """name -> TransitionSpec for every transition of `Ticket.state`, by name."""
    global _specs
    if _specs is None:
        Ticket = apps.get_model("tickets", "Ticket")
        specs = {}
        for transition in Ticket._meta.get_field("state").get_all_transitions(Ticket):
            spec = specs.get(transition.name)
            sources = (spec.sources if spec else ()) + (transition.source,)
            specs[transition.name] = TransitionSpec(
                name=transition.name,
                sources=sources,
                target=transition.target,
                permission=transition.permission,
                declaration=transition.custom["declaration"],
            )
        _specs = specs
    return _specs


_specs = None


def spec(name):
    return transitions().get(name)


# --- hooks ------------------------------------------------------------------------------------


@dataclass
class Hooks:
    before: dict[str, list[Callable]] = field(default_factory=lambda: defaultdict(list))
    after: dict[str, list[Callable]] = field(default_factory=lambda: defaultdict(list))


_hooks = Hooks()


def on(event, *, before=False):
    """Attach a handler to a transition (by name) or another domain event; returns the function.

    A transition's handler is called as `handler(change, params)`; an event's as `handler(**kwargs)`.
    """

    def register(handler):
        (_hooks.before if before else _hooks.after)[event].append(handler)
        return handler

    return register


def before_hooks(event):
    return list(_hooks.before.get(event, ()))


def after_hooks(event):
    return list(_hooks.after.get(event, ()))


def twin(hook):
    """Declare the decorated function the set-based twin of `hook`, for `services.fire_many`.

    A transition fired on many tickets at once (bulk approval) runs each of its hooks once for the
    whole set instead of once per ticket, so that a thousand approvals cost a few statements, not a
    few thousand. The twin is called as `many(changes)`, each change carrying its `params`; it must
    have the single hook's effect on every change, and a `before` twin refuses an item by
    `change.refuse(error)` before writing anything for it (the item then stays as it was, as the
    single path's rolled-back transaction leaves it). `fire_many` refuses a transition that has a hook
    without a twin, so a hook added later cannot be skipped silently by the bulk path.
    """

    def register(many):
        hook.many = many
        return many

    return register


def twins(hooks):
    """The set-based twin of each hook, in the same order; LookupError names a hook without one."""
    missing = [hook for hook in hooks if getattr(hook, "many", None) is None]
    if missing:
        names = ", ".join(f"{hook.__module__}.{hook.__qualname__}" for hook in missing)
        raise LookupError(f"no set-based twin for {names}")
    return [hook.many for hook in hooks]


def emit(event, **kwargs):
    """Run the handlers of a domain event that is not a transition (inside the caller's transaction)."""
    for handler in after_hooks(event):
        handler(**kwargs)


# --- the table --------------------------------------------------------------------------------


def table():
    """The workflow as a Markdown table, from the declarations: docs/architecture.md holds it verbatim."""
    rows = [
        "| transition | from | to | who | parameters | the applicant is told |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, spec in transitions().items():
        params = ", ".join(
            f"`{param.name}`"
            + (
                " (required" + (f" for {param.only_for}" if param.only_for else "") + ")"
                if param.required
                else ""
            )
            for param in spec.declaration.params
            if not param.internal
        )
        rows.append(
            f"| `{name}` | {', '.join(f'`{source}`' for source in spec.sources)} | `{spec.target}` "
            f"| {roles.WHO[spec.permission]} | {params} | {spec.declaration.tells_applicant or '—'} |"
        )
    return "\n".join(rows)
