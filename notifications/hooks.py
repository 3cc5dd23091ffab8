"""What the applicant is told, and what the conversation keeps, when the ticket workflow moves.

Attached to the core's transitions and events (see tickets/workflow.py); each runs in the transaction
of the change it follows, so the outbox holds its messages only if that change commits.
"""

from django.utils.text import format_lazy

from notifications import satisfaction, services, texts
from notifications.models import GuidedConversation, GuidedTurn, InboundEmail, Message, SatisfactionSurvey
from tickets import roles, workflow
from tickets.links import report_form_url


def tell_applicant(change, params):
    """The notification a transition declares (`tells_applicant`), with its public words if any."""
    services.notify(**_notice(change, params))


@workflow.twin(tell_applicant)
def tell_applicants(changes):
    """The same for a transition fired on many tickets: one INSERT, one publish after commit."""
    services.notify_many(_notice(change, change.params) for change in changes)


def _notice(change, params):
    declaration = workflow.spec(change.name).declaration
    public = str(params.get(declaration.public) or "") if declaration.public else ""
    staff = roles.actor_kind(change.actor) == "staff"
    return dict(
        ticket=change.ticket,
        event=declaration.tells_applicant,
        author=change.actor if staff and public else None,
        message=public,
        remedy=change.ticket.current_remedy,
    )


def attach():
    """Called once from the app's ready(): one handler per transition that tells the applicant."""
    for name, spec in workflow.transitions().items():
        if spec.declaration.tells_applicant:
            workflow.on(name)(tell_applicant)


@workflow.on("confirm")
@workflow.on("close_unanswered")
def ask_satisfaction(change, params):
    """Once closed, the applicant is asked to rate the help (once per ticket, unless they opted out)."""
    satisfaction.ask(ticket=change.ticket)


@workflow.on("send_back")
def note_for_the_proposer(change, params):
    services.add_note(ticket=change.ticket, author=change.actor, body=texts.sent_back_note(params["reason"]))


@workflow.on("report_created")
def confirm_report(*, ticket, confirmation):
    if confirmation == "report_opened_email":
        form = report_form_url(name=ticket.full_name, email=ticket.email)
        services.notify(ticket=ticket, event=confirmation, form=form)
        return
    services.notify(ticket=ticket, event=confirmation, channels=_chosen_channel(ticket))


def _chosen_channel(ticket):
    """A caller on the phone is told on the one channel they chose; others on every channel they gave."""
    return [ticket.preferred_channel] if ticket.channel == "phone" else None


@workflow.on("evidence_requested")
def ask_for_evidence(*, ticket):
    services.notify(ticket=ticket, event="evidence_requested", channels=[ticket.preferred_channel])


@workflow.on("info_reminder")
def remind(*, ticket):
    services.notify(ticket=ticket, event="info_reminder")


@workflow.on("tracking_link")
def send_tracking_link(*, ticket, channel):
    services.notify(ticket=ticket, event="tracking_link", channels=[channel])


@workflow.on("evidence_refused")
def ask_for_another_screenshot(*, ticket, name, reason):
    message = format_lazy("{}: {}", name, reason) if name else reason  # in the applicant's language
    services.notify(ticket=ticket, event="evidence_refused", message=message)
    services.add_note(ticket=ticket, author=None, body=texts.evidence_refused_note(name, reason))


@workflow.on("erasure_scheduled")
def tell_erasure_waits(*, ticket):
    services.notify(ticket=ticket, event="erasure_scheduled", remedy=ticket.current_remedy)


@workflow.on("personal_data_erased")
def redact_messages(*, ticket, redacted):
    Message.objects.filter(ticket=ticket).update(
        body=redacted, subject="", to_address="", from_address="", content_variables={}, media=[]
    )
    InboundEmail.objects.filter(message__ticket=ticket).update(raw=b"", sender="", subject="", size=0)
    GuidedTurn.objects.filter(conversation__ticket=ticket).update(body=redacted, media=[])
    GuidedConversation.objects.filter(ticket=ticket).update(answers={}, whatsapp="", profile_name="")
    SatisfactionSurvey.objects.filter(ticket=ticket).exclude(comment="").update(comment=redacted)
