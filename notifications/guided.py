"""A report taken on WhatsApp, question by question, from a number with no open ticket.

The state is the `GuidedConversation` row (the checked answers so far): the first question not yet
answered is asked next, so a restarted worker resumes where the applicant was. Each message locks that
row, so two messages arriving together are handled in turn, and its MessageSid is stored once (the same
webhook twice changes nothing). Questions are the webhook's TwiML answer: inside the 24-hour window by
construction. Confirmed and consented, the report is created by `tickets.services.submit_report`, as the
form's and the API's are, and the applicant is sent the reference and the tracking link; the
conversation is copied onto the ticket. "petugas" hands the partial answers to an agent on a ticket.
The questions and their checks are in notifications/guided_questions.py.
"""

import json
import logging
import secrets
import sys
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from rest_framework import serializers

from notifications import channels, conversation, satisfaction, texts
from notifications.guided_questions import Invalid, current, summary
from notifications.inbound import download_media
from notifications.models import (
    Direction,
    GuidedConversation,
    GuidedState,
    GuidedTurn,
    Message,
    MessageChannel,
    MessageStatus,
)
from notifications.twilio_client import MediaFetchError, MediaTooLarge
from tickets import ratelimit
from tickets import services as tickets
from tickets.evidence import EVIDENCE_MESSAGES, EvidenceError, ProcessedImage, process_image
from tickets.intake import ReportSerializer, check_evidence_files
from tickets.models import Ticket
from tickets.validators import normalize_whatsapp

log = logging.getLogger(__name__)

CANCEL = {"batal", "cancel", "stop", "berhenti"}
RESTART = {"ulang", "restart", "mulai lagi", "start over"}
AGENT = {"petugas", "agent", "operator", "cs", "manusia", "human"}
LANGUAGES = {"en": "en", "english": "en", "inggris": "en", "id": "id", "indonesia": "id", "bahasa": "id"}
_ENGLISH_WORDS = {"hello", "hi", "hey", "good", "morning", "please", "help", "my", "the", "english", "i"}
_INDONESIAN_WORDS = {"halo", "hai", "selamat", "pagi", "siang", "sore", "malam", "saya", "tolong", "kuota"}
EVIDENCE_FOLDER = "guided-evidence"


@dataclass
class Reply:
    """What the webhook answers: a question as TwiML, or a quick-reply template sent by the API."""

    body: str = ""
    content_sid: str = ""


def _number(address):
    return address.removeprefix("whatsapp:").strip()


def applies(form):
    """Whether this inbound message belongs to a guided report rather than to a ticket."""
    if not settings.WHATSAPP_GUIDED_INTAKE:
        return False
    sid = form.get("MessageSid", "")
    if Message.objects.filter(
        channel=MessageChannel.WHATSAPP, direction=Direction.INBOUND, provider_id=sid
    ).exists():
        return False  # stored on a ticket already: the usual path says "duplicate"
    number = _number(form.get("From", ""))
    try:
        normalize_whatsapp(number)
    except ValidationError:
        return False  # a report needs an Indonesian mobile number; an agent takes the others
    if satisfaction.is_answer(number=number, body=form.get("Body", "")):
        return False  # the rating (or its comment) of a closed ticket, not a new report
    return conversation.ticket_for_whatsapp(number) is None


def receive(form):
    """Handle one inbound message of a guided report; returns the Reply to send (empty: none).

    None: the message is not for a guided report after all (a report of this number was created while
    it waited for the lock): the usual path stores it on that ticket.
    """
    sid = form["MessageSid"]
    if GuidedTurn.objects.filter(provider_id=sid).exists():
        return Reply()
    number = _number(form["From"])
    text = (form.get("ButtonPayload") or form.get("Body") or "").strip()
    media = _media_items(form)
    language = _awaiting_evidence(number) if media else None
    images = None
    if language:
        with translation.override(language):
            images = _fetched_images(media)
    stored = []
    try:
        with transaction.atomic():
            conv, new = _locked_conversation(number, form, text)
            if conv is None:
                return None
            if conv.turns.filter(provider_id=sid).exists():
                return Reply()  # the same webhook, at the same moment, handled by the other worker
            turn = GuidedTurn.objects.create(
                conversation=conv, direction=Direction.INBOUND, body=text, provider_id=sid, media=media
            )
            conv.last_inbound_at, conv.reminded_at = turn.created_at, None
            with translation.override(conv.language):
                reply = _advance(conv, turn, text, images, new, stored)
                if conv.state == GuidedState.ACTIVE:
                    conv.save()
                if reply.body:
                    answer = GuidedTurn.objects.create(
                        conversation=conv, direction=Direction.OUTBOUND, body=reply.body
                    )
                    if conv.ticket_id:  # the last words of a conversation that became a ticket
                        _carry_turns(conv, conv.ticket, [answer])
    except BaseException:
        for path in stored:  # written by a transaction that did not commit
            default_storage.delete(path)
        raise
    if reply.content_sid:
        _send(conv, body="", content_sid=reply.content_sid)
        return Reply()
    return reply


def _media_items(form):
    try:
        count = min(int(form.get("NumMedia") or 0), 10)
    except ValueError:
        count = 0
    return [
        {"url": form.get(f"MediaUrl{index}", ""), "content_type": form.get(f"MediaContentType{index}", "")}
        for index in range(count)
        if form.get(f"MediaUrl{index}")
    ]


def _awaiting_evidence(number):
    """The conversation's language when it waits for a screenshot (a peek, without lock), else None."""
    conv = GuidedConversation.objects.filter(whatsapp=number, state=GuidedState.ACTIVE).first()
    question = current(conv.answers) if conv else None
    return conv.language if question is not None and question.name == "evidence" else None


def _fetched_images(media):
    """The media as checked screenshots ((name, ProcessedImage) pairs), or the Invalid that says why not.

    Downloaded before any row is locked (no network inside a transaction), checked by the report's
    evidence rules (tickets.intake.check_evidence_files), with their messages.
    """
    uploads = []
    for index, item in enumerate(media[: settings.EVIDENCE_MAX_FILES], start=1):
        try:
            content, _type = download_media(item["url"], max_bytes=settings.EVIDENCE_MAX_BYTES)
        except MediaTooLarge:
            return Invalid(EVIDENCE_MESSAGES["too_large"])
        except MediaFetchError as error:
            log.warning("guided report: %s", error)
            return Invalid(_("We could not download your image. Please send it again."))
        uploads.append(SimpleUploadedFile(f"whatsapp-{index}", content))
    try:
        checked = check_evidence_files(uploads)
    except serializers.ValidationError as exc:
        return Invalid(" ".join(str(message).split(": ", 1)[-1] for message in exc.detail))
    # Decoded here, outside any lock: the conversation shows the applicant at once whether it can be used.
    try:
        return [(name, process_image(pending.content)) for name, pending in checked]
    except EvidenceError as error:
        return Invalid(error.message)


def _locked_conversation(number, form, text):
    """The number's active conversation, locked; a new one when there is none (and whether it is new)."""
    active = GuidedConversation.objects.select_for_update().filter(whatsapp=number, state=GuidedState.ACTIVE)
    conv = active.first()
    if conv is not None:
        return conv, False
    if conversation.ticket_for_whatsapp(number) is not None:
        return None, False  # the conversation this message waited for has just become a ticket
    try:
        with transaction.atomic():
            conv = GuidedConversation.objects.create(
                whatsapp=number,
                profile_name=form.get("ProfileName", "")[:256],
                language=_language_of(text),
            )
        return conv, True
    except IntegrityError:  # the number's other message created it first: wait for it, then follow
        return active.get(), False


def _language_of(text):
    words = set(text.lower().replace(",", " ").replace("!", " ").split())
    if words & _INDONESIAN_WORDS:
        return "id"
    return "en" if words & _ENGLISH_WORDS else "id"


def _advance(conv, turn, text, images, new, stored):
    """Apply one message to the conversation; returns the reply."""
    command = text.lower().strip(" .!")
    if command in CANCEL:
        _close(conv, GuidedState.CANCELLED)
        return Reply(_("Stopped: nothing was sent. Write to us again whenever you want to report."))
    if command in AGENT:
        ticket = _hand_over(conv)
        return Reply(
            _("An agent will continue here with report {reference}.").format(reference=ticket.reference)
        )
    if command in RESTART:
        _discard_evidence(conv.answers)
        conv.answers = {}
        return _ask(conv, _("Let us start over."))
    if command in LANGUAGES and not new:
        conv.language = LANGUAGES[command]
        translation.activate(conv.language)
        return _ask(conv)
    if new:
        return _ask(conv)  # the first message is a greeting, not an answer
    question = current(conv.answers)
    try:
        if question.name == "evidence":
            conv.answers["evidence"] = _keep_images(conv, turn, images, stored)
        else:
            if not text:
                raise Invalid(_("Please answer with a text message."))
            value = question.parse(text, conv.answers)
            if question.name == "confirmed" and not value:
                raise Invalid(_("Reply ULANG to correct an answer, or BATAL to stop."))
            if question.name == "consent" and not value:
                raise Invalid(_("Without your consent we cannot handle the report."))
            conv.answers[question.name] = value
    except Invalid as invalid:
        return _ask(conv, invalid.message)
    if current(conv.answers) is None:
        return _submit(conv)
    return _ask(conv)


def _ask(conv, before=""):
    question = current(conv.answers)
    prompt = summary(conv.answers) if question.name == "confirmed" else str(question.prompt())
    body = f"{before}\n{prompt}" if before else prompt
    sid = texts.content_sid("guided_category", conv.language) if question.name == "category" else ""
    return Reply(body=body, content_sid="" if before else sid)


# --- screenshots, kept until the report exists ------------------------------------------------------


def _keep_images(conv, turn, images, stored):
    if not turn.media:
        raise Invalid(_("Send the screenshot as an image."))
    if images is None:  # it was not downloaded (the question changed meanwhile): never under the lock
        raise Invalid(_("We could not download your image. Please send it again."))
    if isinstance(images, Invalid):
        _media_state(turn, "refused", images.message)
        raise images
    _media_state(turn, "kept")
    folder = f"{EVIDENCE_FOLDER}/{conv.pk}-{secrets.token_urlsafe(12)}"
    kept = []
    for number, (name, image) in enumerate(images):
        path = default_storage.save(f"{folder}/{number}.{image.extension}", ContentFile(image.content))
        stored.append(path)
        thumb = default_storage.save(f"{folder}/{number}-thumb.jpg", ContentFile(image.thumbnail))
        stored.append(thumb)
        kept.append(
            {
                "name": name,
                "path": path,
                "thumbnail": thumb,
                "content_type": image.content_type,
                "extension": image.extension,
                "width": image.width,
                "height": image.height,
                "thumbnail_content_type": image.thumbnail_content_type,
                "sha256": image.sha256,
            }
        )
    return kept


def _kept_images(answers):
    images = []
    for item in answers.get("evidence") or []:
        with default_storage.open(item["path"]) as content, default_storage.open(item["thumbnail"]) as thumb:
            images.append(
                (
                    item["name"],
                    ProcessedImage(
                        content=content.read(),
                        content_type=item["content_type"],
                        extension=item["extension"],
                        width=item["width"],
                        height=item["height"],
                        thumbnail=thumb.read(),
                        thumbnail_content_type=item["thumbnail_content_type"],
                        sha256=item["sha256"],
                    ),
                )
            )
    return images


def _discard_evidence(answers):
    paths = [path for item in answers.get("evidence") or [] for path in (item["path"], item["thumbnail"])]
    transaction.on_commit(lambda: [default_storage.delete(path) for path in paths])


def _media_state(turn, state, error=""):
    turn.media = [{**item, "state": state, "error": error[:300]} for item in turn.media]
    turn.save(update_fields=["media"])


# --- the end of a conversation ----------------------------------------------------------------------


def _close(conv, state, ticket=None):
    _discard_evidence(conv.answers)
    conv.state, conv.ticket, conv.closed_at = state, ticket, timezone.now()
    conv.save()


def _submit(conv):
    """Create the report from the answers by the form's rules and service; the reply is its confirmation."""
    answers = conv.answers
    data = {name: value for name, value in answers.items() if name in ReportSerializer().fields}
    data.pop("evidence", None)
    data.update(whatsapp=conv.whatsapp, preferred_channel="whatsapp", language=conv.language)
    serializer = ReportSerializer(data=data, context={"kept_evidence": _kept_images(answers)})
    if not serializer.is_valid():  # a rule that spans answers: an agent sorts it out with the applicant
        ticket = _hand_over(conv)
        return Reply(
            _(
                "We could not complete the report; an agent will continue here with report {reference}."
            ).format(reference=ticket.reference)
        )
    report = dict(serializer.validated_data)
    try:
        ratelimit.check_applicant(whatsapp=report["whatsapp"], nik=report["nik"])
    except ratelimit.RateLimited as exc:
        conv.answers.pop("consent", None)
        return _ask(conv, str(exc.message))
    evidence = report.pop("evidence", None) or []
    serials = report.pop("serial_numbers", None) or []
    ticket = tickets.submit_report(data=report, serial_numbers=serials, evidence=evidence, channel="whatsapp")
    _carry_conversation(conv, ticket)
    _close(conv, GuidedState.SUBMITTED, ticket)
    return Reply()  # the confirmation (reference, tracking link) is the report's own notification


def _hand_over(conv):
    """An `other` ticket with the answers so far, the screenshots and the conversation, for an agent."""
    answers = conv.answers
    details = summary(answers, footer=False) if answers else ""
    data = {
        "whatsapp": conv.whatsapp,
        "full_name": answers.get("full_name") or conv.profile_name,
        "language": conv.language,
        "description": _("WhatsApp report handed over to an agent before it was complete.") + "\n" + details,
    }
    for name in ("nik", "email"):
        if answers.get(name):
            data[name] = answers[name]
    if answers.get("email"):
        data["platform_account_email"] = answers["email"]
    ticket = conversation.open_ticket(channel="whatsapp", data=data)
    for name, image in _kept_images(answers):
        tickets.attach_evidence(ticket=ticket, name=name, image=image, source="whatsapp")
    _carry_conversation(conv, ticket)
    _close(conv, GuidedState.HANDED_OVER, ticket)
    return ticket


def _carry_conversation(conv, ticket):
    """The conversation's messages onto the ticket, in order; its WhatsApp window with them."""
    _carry_turns(conv, ticket, conv.turns.all())
    Ticket.objects.filter(pk=ticket.pk).update(last_inbound_at=conv.last_inbound_at)
    ticket.last_inbound_at = conv.last_inbound_at


def _carry_turns(conv, ticket, turns):
    Message.objects.bulk_create(
        Message(
            ticket=ticket,
            direction=turn.direction,
            channel=MessageChannel.WHATSAPP,
            event="guided" if turn.direction == Direction.OUTBOUND else "",
            body=turn.body,
            from_address=conv.whatsapp if turn.direction == Direction.INBOUND else "",
            to_address=conv.whatsapp if turn.direction == Direction.OUTBOUND else "",
            provider_id=turn.provider_id,
            status=MessageStatus.RECEIVED if turn.direction == Direction.INBOUND else MessageStatus.SENT,
            # Never "pending": the media sweep must not fetch these again.
            media=[{"state": "skipped", "error": "", **item} for item in turn.media],
            created_at=turn.created_at,
        )
        for turn in turns
    )


# --- idle conversations: reminded once, then closed ---------------------------------------------------


def idle_period():
    return timedelta(minutes=settings.WHATSAPP_GUIDED_IDLE_MINUTES)


def remind_and_close_idle(now=None):
    """Beat: remind each conversation idle for the idle period once, close those idle since the reminder.

    A reminder is claimed by a conditional update before it is sent, so a second sweep sends nothing.
    """
    now = now or timezone.now()
    cutoff = now - idle_period()
    reminded = 0
    idle = GuidedConversation.objects.filter(
        state=GuidedState.ACTIVE, reminded_at=None, last_inbound_at__lt=cutoff
    )
    for conv_id in list(idle.values_list("id", flat=True)[:200]):
        if idle.filter(pk=conv_id).update(reminded_at=now):
            _remind(GuidedConversation.objects.get(pk=conv_id), now)
            reminded += 1
    closed = 0
    for conv_id in GuidedConversation.objects.filter(
        state=GuidedState.ACTIVE, reminded_at__lt=cutoff
    ).values_list("id", flat=True)[:200]:
        with transaction.atomic():
            conv = GuidedConversation.objects.select_for_update().get(pk=conv_id)
            if conv.state == GuidedState.ACTIVE and conv.reminded_at and conv.reminded_at < cutoff:
                _close(conv, GuidedState.EXPIRED)
                closed += 1
    forget_ended(now)
    return reminded, closed


def forget_ended(now):
    """Conversations that ended without a ticket (cancelled, expired) hold personal data: kept for
    RETENTION_DAYS, as a closed ticket's; those with a ticket are erased with it."""
    limit = now - timedelta(days=settings.RETENTION_DAYS)
    GuidedConversation.objects.filter(ticket=None, closed_at__lt=limit).exclude(
        state=GuidedState.ACTIVE
    ).delete()


def _remind(conv, now):
    """The reminder: free text inside the 24-hour window, else the approved template (or nothing)."""
    with translation.override(conv.language):
        question = current(conv.answers)
        body = _("Your e-Meterai report is not finished yet. Reply to continue, or BATAL to stop.")
        if question is not None and question.name != "confirmed":
            body += "\n" + str(question.prompt())
    if channels.within_session_window(conv, now):
        _send(conv, body=body, record=True)
        return
    sid = texts.content_sid("guided_reminder", conv.language)
    if sid:
        _send(
            conv,
            body=body,
            content_sid=sid,
            variables={"1": conv.answers.get("full_name") or conv.profile_name},
            record=True,
        )
    else:
        log.warning(
            "guided report %s idle outside the WhatsApp window and no guided_reminder template", conv.pk
        )


def _send(conv, *, body, content_sid="", variables=None, record=False):
    """One message to the conversation's number through Twilio's API, outside any transaction."""
    if not channels.twilio_configured():
        sys.stdout.write(
            f"\n--- WhatsApp to {conv.whatsapp} (guided report) ---\n{body or content_sid}\n---\n"
        )
        return
    params = {
        "to": channels.whatsapp_address(conv.whatsapp),
        "from_": settings.TWILIO_WHATSAPP_FROM,
    }
    if content_sid:
        params["content_sid"] = content_sid
        if variables:
            params["content_variables"] = json.dumps({k: v for k, v in variables.items() if v})
    else:
        params["body"] = body
    try:
        created = channels.twilio_client().messages.create(**params)
    except Exception:
        log.exception("guided report %s: message not sent", conv.pk)
        return
    if record:
        GuidedTurn.objects.create(
            conversation=conv, direction=Direction.OUTBOUND, body=body, provider_id=created.sid
        )
