"""Every message in or out of a ticket, in order, with its delivery status; outbound ones form the outbox."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from notifications.provider_errors import describe_error
from tickets import workflow


class Direction(models.TextChoices):
    INBOUND = "in", _("Inbound")
    OUTBOUND = "out", _("Outbound")


class MessageChannel(models.TextChoices):
    WHATSAPP = "whatsapp", _("WhatsApp")
    EMAIL = "email", _("Email")
    WEB = "web", _("Status page")
    NOTE = "note", _("Internal note")


class MessageEvent(models.TextChoices):
    """What caused an outbound message, in words for staff (notifications/texts.py has the texts)."""

    REPORT_RECEIVED = "report_received", _("Report received")
    REPORT_OPENED = "report_opened", _("Report opened from a message")
    INFO_REQUESTED = "info_requested", _("Information requested")
    INFO_REMINDER = "info_reminder", _("Reminder to answer")
    APPROVED = "approved", _("Remedy approved")
    REMEDY_APPLIED = "remedy_applied", _("Remedy applied")
    RESOLVED = "resolved", _("Resolved")
    REJECTED = "rejected", _("Rejected")
    DUPLICATE = "duplicate", _("Marked duplicate")
    CLOSED = "closed", _("Closed")
    CLOSED_UNANSWERED = "closed_unanswered", _("Closed without an answer")
    AGENT_REPLY = "agent_reply", _("Agent's reply")
    TRACKING_LINK = "tracking_link", _("Tracking link sent again")
    ERASURE_SCHEDULED = "erasure_scheduled", _("Erasure scheduled")
    CSAT_REQUEST = "csat_request", _("Satisfaction question")
    CSAT_THANKS = "csat_thanks", _("Thanks for the rating")
    EVIDENCE_REFUSED = "evidence_refused", _("Screenshot refused, another asked for")
    EVIDENCE_REQUESTED = "evidence_requested", _("Screenshot asked for")
    REPORT_OPENED_EMAIL = "report_opened_email", _("Report opened from an email")
    INCIDENT_NOTICE = "incident_notice", _("Incident notice")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    READ = "read", _("Read")
    FAILED = "failed", _("Failed")
    RECEIVED = "received", _("Received")


# Delivery statuses only move forward: a late "delivered" never undoes "read".
STATUS_RANK = {
    MessageStatus.QUEUED: 0,
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.READ: 3,
    MessageStatus.FAILED: 4,
    MessageStatus.RECEIVED: 0,
}


class HeldReason(models.TextChoices):
    OTHER_SENDER = "other_sender", _("From another address")


class MessageQuerySet(models.QuerySet):
    def public(self):
        """What the applicant sees: no internal notes, no mail held for an agent."""
        return self.exclude(channel=MessageChannel.NOTE).filter(held_reason="")


class Message(models.Model):
    """A message on a ticket: inbound from the applicant, outbound to them, or an internal note.

    An outbound message is written in the transaction of the change that causes it (status `queued`)
    and delivered by a task after commit; `claimed_at` makes sure only one worker sends it.
    """

    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="messages", verbose_name=_("ticket")
    )
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices)
    channel = models.CharField(_("channel"), max_length=16, choices=MessageChannel.choices)
    event = models.CharField(
        _("event"),
        max_length=32,
        blank=True,
        choices=MessageEvent.choices,
        help_text=_("Event that caused a notification"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("author"),
    )
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("text"), blank=True)
    to_address = models.CharField(_("to"), max_length=254, blank=True)
    from_address = models.CharField(_("from"), max_length=254, blank=True)
    content_sid = models.CharField(max_length=64, blank=True)
    content_variables = models.JSONField(default=dict, blank=True)

    status = models.CharField(
        _("status"), max_length=16, choices=MessageStatus.choices, default=MessageStatus.QUEUED
    )
    provider_id = models.CharField(
        _("provider id"), max_length=255, blank=True, help_text=_("Twilio MessageSid or Message-ID")
    )
    in_reply_to = models.CharField(max_length=255, blank=True)
    # Inbound mail that is not the applicant's (another sender naming the ticket): shown to agents only,
    # never a transition, never evidence.
    held_reason = models.CharField(
        _("held for an agent"), max_length=32, choices=HeldReason.choices, blank=True, default=""
    )
    # Inbound WhatsApp media, fetched by a task: [{"url", "content_type", "state", "error"}].
    media = models.JSONField(default=list, blank=True)
    media_pending = models.BooleanField(default=False)
    error_code = models.CharField(_("error code"), max_length=32, blank=True)
    error_message = models.TextField(_("error details"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    handed_over_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Last handed to the broker (a new message: when its transaction commits)"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["ticket", "created_at"]),
            models.Index(fields=["status", "direction", "created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "direction", "provider_id"],
                condition=~Q(provider_id=""),
                name="unique_provider_message",
            )
        ]

    def __str__(self):
        return f"{self.get_direction_display()} {self.channel} #{self.pk}"

    @property
    def is_internal(self):
        return self.channel == MessageChannel.NOTE or bool(self.held_reason)

    @property
    def error_text(self):
        """The stored error code in words, for agents."""
        return describe_error(self.error_code)

    def advance_status(self, status):
        """Move the delivery status forward only; returns whether it changed."""
        if STATUS_RANK.get(status, -1) <= STATUS_RANK.get(self.status, -1):
            return False
        self.status = status
        return True


class CannedReply(models.Model):
    """A reply agents pick from, in both languages, with placeholders {name} {reference} {quantity} {link}.

    With a `transition` it is a macro: sending it also fires that workflow transition (the text becomes
    the transition's message to the applicant when it has one, as `request_info`'s question).
    """

    title = models.CharField(_("title"), max_length=120, unique=True)
    body_id = models.TextField(_("text (Bahasa Indonesia)"))
    body_en = models.TextField(_("text (English)"))
    transition = models.CharField(
        _("then"),
        max_length=32,
        blank=True,
        help_text=_("Optional: the workflow step this reply also takes (a macro)."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("canned reply")
        verbose_name_plural = _("canned replies")

    def __str__(self):
        return self.title

    def clean(self):
        super().clean()
        if self.transition and self.transition not in macro_transitions():
            raise ValidationError(
                {"transition": _("Not a workflow step staff can take: %(name)s") % {"name": self.transition}}
            )

    def body_for(self, language):
        return self.body_en if language == "en" else self.body_id


def macro_transitions():
    """name -> label of the transitions a macro may fire: those staff take from the console."""
    return {
        name: spec.declaration.label
        for name, spec in workflow.transitions().items()
        if spec.declaration.console and not spec.system_only
    }


class InboundEmailState(models.TextChoices):
    PENDING = "pending", _("Waiting to be read")
    STORED = "stored", _("On its ticket")
    HELD = "held", _("Held for an agent")
    IGNORED = "ignored", _("Ignored (automatic reply)")
    FAILED = "failed", _("Refused")


class InboundEmail(models.Model):
    """A raw inbound email exactly as received: stored before it is read, so a crash loses nothing and
    staff can always see what the shown reply was taken from."""

    email_message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    sender = models.CharField(_("from"), max_length=254, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    raw = models.BinaryField(_("raw message"))
    size = models.PositiveIntegerField(_("size in bytes"), default=0)
    state = models.CharField(
        _("state"), max_length=16, choices=InboundEmailState.choices, default=InboundEmailState.PENDING
    )
    error = models.TextField(_("why it was refused"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    message = models.OneToOneField(
        Message,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="inbound_email",
        verbose_name=_("message"),
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound email")
        verbose_name_plural = _("inbound emails")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["state", "received_at"])]

    def __str__(self):
        return f"{self.sender} {self.email_message_id}"

    RAW_SHOWN_CHARS = 200_000

    @property
    def raw_text(self):
        """The raw message as text for staff, cut after RAW_SHOWN_CHARS (attachments make it long)."""
        text = bytes(self.raw).decode("utf-8", errors="replace")
        if len(text) > self.RAW_SHOWN_CHARS:
            return text[: self.RAW_SHOWN_CHARS] + "\n[... cut: the stored message is longer]"
        return text


class GuidedState(models.TextChoices):
    ACTIVE = "active", _("In progress")
    SUBMITTED = "submitted", _("Report submitted")
    CANCELLED = "cancelled", _("Cancelled by the applicant")
    HANDED_OVER = "handed_over", _("Handed over to an agent")
    EXPIRED = "expired", _("Closed after no answer")


class GuidedConversation(models.Model):
    """A WhatsApp report being taken question by question (notifications/guided.py).

    Everything lives here, not in memory: a restarted worker resumes at the first unanswered question.
    At most one conversation per number is active; the next message of that number locks this row, so
    two messages arriving together are handled one after the other.
    """

    whatsapp = models.CharField(_("WhatsApp number"), max_length=20)
    profile_name = models.CharField(max_length=256, blank=True)
    language = models.CharField(max_length=2, default="id")
    state = models.CharField(
        _("state"), max_length=16, choices=GuidedState.choices, default=GuidedState.ACTIVE
    )
    # The checked answers so far, by the report's field names (the API's), plus "evidence": the
    # screenshots kept in storage until the report is created.
    answers = models.JSONField(default=dict, blank=True)
    ticket = models.ForeignKey(
        "tickets.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="guided_conversations",
        verbose_name=_("ticket"),
    )
    started_at = models.DateTimeField(default=timezone.now)
    last_inbound_at = models.DateTimeField(default=timezone.now)
    reminded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("guided WhatsApp report")
        verbose_name_plural = _("guided WhatsApp reports")
        indexes = [models.Index(fields=["state", "last_inbound_at"], name="guided_idle_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["whatsapp"], condition=Q(state="active"), name="one_active_guided_per_number"
            )
        ]

    def __str__(self):
        return f"{self.whatsapp} ({self.state})"


class GuidedTurn(models.Model):
    """One message of a guided conversation, in or out; copied onto the ticket when there is one."""

    conversation = models.ForeignKey(GuidedConversation, on_delete=models.CASCADE, related_name="turns")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    body = models.TextField(blank=True)
    provider_id = models.CharField(max_length=64, blank=True, help_text=_("Twilio MessageSid"))
    media = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider_id"], condition=~Q(provider_id=""), name="unique_guided_turn_sid"
            )
        ]

    def __str__(self):
        return f"{self.get_direction_display()} #{self.pk}"


def new_survey_token():
    return secrets.token_urlsafe(18)


class SatisfactionSurvey(models.Model):
    """The one satisfaction question a closed ticket's applicant is asked (CSAT), and their answer.

    One per ticket, by the database: a ticket closed, reopened and closed again is never asked twice.
    """

    ticket = models.OneToOneField(
        "tickets.Ticket", on_delete=models.CASCADE, related_name="survey", verbose_name=_("ticket")
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("agent"),
    )
    channel = models.CharField(_("asked on"), max_length=16, choices=MessageChannel.choices)
    token = models.CharField(max_length=32, unique=True, default=new_survey_token, editable=False)
    asked_at = models.DateTimeField(_("asked at"), default=timezone.now)
    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        indexes = [models.Index(fields=["answered_at"], name="survey_answered_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5),
                name="survey_rating_1_to_5",
            )
        ]

    def __str__(self):
        return f"{self.ticket_id}: {self.rating or '-'}"


class SatisfactionOptOut(models.Model):
    """A WhatsApp number or email address that asked never to be surveyed again."""

    contact = models.CharField(_("contact"), max_length=254, unique=True)
    created_at = models.DateTimeField(_("since"), default=timezone.now)

    class Meta:
        verbose_name = _("survey opt-out")
        verbose_name_plural = _("survey opt-outs")

    def __str__(self):
        return self.contact
