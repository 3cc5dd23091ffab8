"""The ticket, its workflow (one django-fsm-2 state machine), its log, serial numbers and evidence."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from tickets import roles
from tickets.workflow import NOTE, Param, declare

# Crockford-style alphabet without 0/O, 1/I/L, U: easy to read aloud over the phone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 7


def new_reference():
    return "EMT-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def new_tracking_token():
    return secrets.token_urlsafe(24)


class State(models.TextChoices):
    REPORTED = "reported", _("Reported")
    IN_REVIEW = "in_review", _("In review")
    AWAITING_INFO = "awaiting_info", _("Awaiting information")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting approval")
    APPROVED = "approved", _("Approved")
    RESOLVED = "resolved", _("Quota restored / Money refunded")
    CLOSED = "closed", _("Closed")
    REJECTED = "rejected", _("Rejected")
    DUPLICATE = "duplicate", _("Duplicate")
    REMEDY_FAILED = "remedy_failed", _("Remedy failed")


OPEN_STATES = [
    State.REPORTED,
    State.IN_REVIEW,
    State.AWAITING_INFO,
    State.AWAITING_APPROVAL,
    State.APPROVED,
    State.REMEDY_FAILED,
]

# States in which the ticket's remedy is proposed, approved or being applied: the quota adjustment or the
# payout still needs the applicant's account details, so an erasure request waits for the next state.
REMEDY_IN_FLIGHT_STATES = [State.AWAITING_APPROVAL, State.APPROVED]


class Category(models.TextChoices):
    STAMP_FAILED = "stamp_failed", _("Stamping failed, quota consumed")
    PAID_NOT_CREDITED = "paid_not_credited", _("Paid, quota not credited")
    OTHER = "other", _("Other")


class Channel(models.TextChoices):
    WEB = "web", _("Web")
    WHATSAPP = "whatsapp", _("WhatsApp")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")


class PreferredChannel(models.TextChoices):
    WHATSAPP = "whatsapp", _("WhatsApp")
    EMAIL = "email", _("Email")


class Language(models.TextChoices):
    ID = "id", "Bahasa Indonesia"
    EN = "en", "English"


class RemedyPreference(models.TextChoices):
    QUOTA = "quota", _("Quota")
    MONEY = "money", _("Money back")


class PayoutMethod(models.TextChoices):
    BANK = "bank", _("Bank account")
    EWALLET = "ewallet", _("E-wallet")


# The report's fields by section: every report has the common ones, each category its own section.
COMMON_FIELDS = [
    "category",
    "full_name",
    "nik",
    "email",
    "whatsapp",
    "platform_account_email",
    "preferred_channel",
    "language",
    "description",
]
STAMP_FAILED_FIELDS = {"quota_lost", "serial_numbers", "document_name", "attempted_at"}
MONEY_FIELDS = {"payout_method", "payout_account", "payout_name"}
PAID_FIELDS = {"order_id", "amount_paid", "payment_channel", "remedy_preference"} | MONEY_FIELDS


class TicketQuerySet(models.QuerySet):
    def open(self):
        return self.filter(state__in=OPEN_STATES)


class Ticket(ConcurrentTransitionMixin, models.Model):
    """One applicant's complaint, from report to closed.

    Transitions are short and free of I/O; `tickets.services` wraps each one with the row lock,
    the permission check, the log and the outbox.
    """

    reference = models.CharField(
        max_length=12, unique=True, default=new_reference, editable=False, verbose_name=_("reference")
    )
    tracking_token = models.CharField(
        max_length=64, default=new_tracking_token, editable=False, verbose_name=_("tracking token")
    )
    state = FSMField(default=State.REPORTED, choices=State.choices, protected=True, verbose_name=_("state"))
    category = models.CharField(max_length=32, choices=Category.choices, verbose_name=_("category"))
    channel = models.CharField(
        max_length=16, choices=Channel.choices, default=Channel.WEB, verbose_name=_("channel")
    )
    language = models.CharField(
        max_length=2, choices=Language.choices, default=Language.ID, verbose_name=_("language")
    )

    # The applicant (personal data: see erase_personal_data).
    full_name = models.CharField(max_length=200, blank=True, verbose_name=_("full name"))
    nik = models.CharField("NIK", max_length=16, blank=True)
    email = models.EmailField(blank=True, verbose_name=_("email"))
    whatsapp = models.CharField(max_length=20, blank=True, verbose_name=_("WhatsApp"))
    platform_account_email = models.EmailField(blank=True, verbose_name=_("platform account"))
    preferred_channel = models.CharField(
        max_length=16,
        choices=PreferredChannel.choices,
        default=PreferredChannel.WHATSAPP,
        verbose_name=_("preferred channel"),
    )
    description = models.TextField(blank=True, max_length=2000, verbose_name=_("description"))
    consent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("consent given at"))

    # stamp_failed
    quota_lost = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("stamps lost"))
    document_name = models.CharField(max_length=255, blank=True, verbose_name=_("document"))
    attempted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("attempted at"))

    # paid_not_credited
    order_id = models.CharField(max_length=100, blank=True, verbose_name=_("order"))
    amount_paid = models.PositiveBigIntegerField(null=True, blank=True, verbose_name=_("amount paid"))
    payment_channel = models.CharField(max_length=100, blank=True, verbose_name=_("payment channel"))
    remedy_preference = models.CharField(
        max_length=8, choices=RemedyPreference.choices, blank=True, verbose_name=_("remedy wanted")
    )
    payout_method = models.CharField(
        max_length=8, choices=PayoutMethod.choices, blank=True, verbose_name=_("payout method")
    )
    payout_account = models.CharField(max_length=64, blank=True, verbose_name=_("payout account"))
    payout_name = models.CharField(max_length=200, blank=True, verbose_name=_("payout name"))

    # Handling
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # (assigned_to, state) below serves every lookup
        verbose_name=_("assigned to"),
    )
    possible_duplicate = models.BooleanField(default=False, verbose_name=_("possible duplicate"))
    duplicate_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="duplicates",
        verbose_name=_("duplicate of"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("reported at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    state_changed_at = models.DateTimeField(default=timezone.now, verbose_name=_("state changed at"))
    last_inbound_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last WhatsApp message at"))
    # The applicant wrote (any channel) since the assignee last opened the ticket: the console's marker.
    applicant_replied_at = models.DateTimeField(null=True, blank=True, verbose_name=_("applicant replied at"))
    info_reminder_sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reminder sent at"))
    erased_at = models.DateTimeField(null=True, blank=True, verbose_name=_("erased at"))
    erasure_requested_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("The applicant asked for erasure; carried out after the remedy"),
        verbose_name=_("erasure requested at"),
    )

    objects = TicketQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            models.Index(fields=["state", "created_at"]),
            models.Index(fields=["assigned_to", "state"]),
            models.Index(fields=["category", "state"]),
            # The help-desk console's list, filters and search (see tickets/selectors.py).
            models.Index(fields=["created_at", "id"], name="ticket_list_order_idx"),
            models.Index(fields=["category", "created_at"], name="ticket_category_created_idx"),
            models.Index(fields=["channel", "created_at"], name="ticket_channel_created_idx"),
            models.Index(fields=["state", "state_changed_at"], name="ticket_sla_idx"),
            models.Index(
                fields=["created_at", "id"],
                condition=models.Q(state="reported", assigned_to=None),
                name="ticket_unclaimed_idx",
            ),
            models.Index(
                fields=["created_at"],
                condition=models.Q(possible_duplicate=True),
                name="ticket_possible_dup_idx",
            ),
            models.Index(
                fields=["assigned_to", "applicant_replied_at"],
                condition=models.Q(applicant_replied_at__isnull=False),
                name="ticket_replied_idx",
            ),
            # Exact keys only: plain btree indexes (db_index would add a LIKE index to each on PostgreSQL).
            models.Index(fields=["nik"], name="ticket_nik_idx"),
            models.Index(fields=["whatsapp"], name="ticket_whatsapp_idx"),
            models.Index(fields=["order_id"], name="ticket_order_idx"),
            models.Index(Upper("email"), name="ticket_email_ci_idx"),
            models.Index(Upper("platform_account_email"), name="ticket_account_email_ci_idx"),
        ]
        permissions = [
            ("work_ticket", "Can work tickets (help-desk agent)"),
            ("supervise_ticket", "Can approve remedies and supervise (supervisor)"),
            ("export_remedies", "Can export remedies (finance)"),
        ]

    def __str__(self):
        return self.reference

    def save(self, *args, **kwargs):
        """Save; a new ticket whose random reference is taken already draws another one."""
        if not self._state.adding:
            return super().save(*args, **kwargs)
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    return super().save(*args, **kwargs)
            except IntegrityError:
                if not Ticket.objects.filter(reference=self.reference).exists():
                    raise
                self.reference = new_reference()
        raise IntegrityError("Could not draw a free ticket reference.")

    # --- conditions -------------------------------------------------------------------------

    def is_other_category(self):
        return self.category == Category.OTHER

    def has_remedy_category(self):
        return self.category != Category.OTHER

    def wants_money_refund(self):
        """A paid-not-credited report whose applicant chose their money back over a quota credit."""
        return (
            self.category == Category.PAID_NOT_CREDITED and self.remedy_preference == RemedyPreference.MONEY
        )

    @property
    def current_remedy(self):
        """The remedy proposed last and not withdrawn (sent back), or None."""
        if not hasattr(self, "_current_remedy"):
            self._current_remedy = self.remedies.exclude(state="withdrawn").order_by("-id").first()
        return self._current_remedy

    def forget_current_remedy(self):
        self.__dict__.pop("_current_remedy", None)

    @classmethod
    def read_current_remedies(cls, tickets):
        """`current_remedy` of many tickets read afresh in one query (a bulk transition's checks and hooks)."""
        tickets = list(tickets)
        remedies = cls._meta.get_field("remedies").related_model.objects
        current = {}
        for remedy in remedies.filter(ticket__in=tickets).exclude(state="withdrawn").order_by("-id"):
            current.setdefault(remedy.ticket_id, remedy)
        for ticket in tickets:
            remedy = ticket._current_remedy = current.get(ticket.pk)
            if remedy is not None:
                remedy.ticket = ticket

    def within_reopen_window(self):
        window = timedelta(days=settings.REOPEN_WINDOW_DAYS)
        return timezone.now() - self.state_changed_at <= window

    # --- the workflow (README, "Architecture", has its table) -----------------------------------------------------
    # Each transition's `custom=declare(...)` says everything else about it (tickets/workflow.py):
    # the console's buttons and forms, the staff API and its schema and the dispatch derive from it.

    @transition(
        state,
        source=State.REPORTED,
        target=State.IN_REVIEW,
        permission=roles.is_agent,
        custom=declare(_("Claim and start review"), passes_actor=True),
    )
    def start_review(self, *, actor):
        self.assigned_to = actor

    @transition(
        state,
        source=State.IN_REVIEW,
        target=State.AWAITING_INFO,
        permission=roles.is_agent,
        custom=declare(
            _("Ask the applicant for information"),
            params=[
                Param(
                    "message",
                    _("Message to the applicant"),
                    required=True,
                    missing=_("Write the message that asks the applicant."),
                    help=_("The question sent to the applicant (required)."),
                ),
                NOTE,
            ],
            public="message",
            note_from="message",
            tells_applicant="info_requested",
        ),
    )
    def request_info(self):
        self.info_reminder_sent_at = None

    @transition(
        state,
        source=State.AWAITING_INFO,
        target=State.IN_REVIEW,
        permission=roles.is_system,
        custom=declare(_("Applicant answered")),
    )
    def info_received(self):
        pass

    @transition(
        state,
        source=[State.REPORTED, State.IN_REVIEW],
        target=State.AWAITING_APPROVAL,
        permission=roles.may_propose,
        conditions=[has_remedy_category],
        custom=declare(
            _("Propose remedy"),
            params=[
                Param(
                    "quantity",
                    _("Stamps to restore"),
                    "number",
                    required=True,
                    applies=lambda ticket: not ticket.wants_money_refund(),
                    only_for="a quota remedy",
                    initial=lambda ticket: ticket.quota_lost,
                    help=_("Stamps to restore (quota remedies)."),
                ),
                Param(
                    "amount",
                    _("Amount to refund (rupiah)"),
                    "number",
                    required=True,
                    applies=lambda ticket: ticket.wants_money_refund(),
                    only_for="a money refund",
                    initial=lambda ticket: ticket.amount_paid,
                    help=_("Rupiah to refund (money refunds), at most the amount paid."),
                ),
                Param("note", _("Note for the supervisor"), help=_("A note for the supervisor.")),
            ],
        ),
    )
    def propose_remedy(self):
        pass

    @transition(
        state,
        source=State.AWAITING_APPROVAL,
        target=State.APPROVED,
        permission=roles.is_supervisor_not_proposer,
        custom=declare(
            _("Approve remedy"),
            params=[NOTE, Param("remedy_id", _("Remedy"), "number", internal=True)],
            tells_applicant="approved",
        ),
    )
    def approve(self):
        pass

    @transition(
        state,
        source=State.AWAITING_APPROVAL,
        target=State.IN_REVIEW,
        permission=roles.is_supervisor,
        custom=declare(
            _("Send back to the agent"),
            params=[
                Param(
                    "reason",
                    _("Reason"),
                    required=True,
                    missing=_("Give the reason for sending it back."),
                    help=_("Why the proposal goes back (required)."),
                ),
                NOTE,
            ],
            note_from="reason",
            danger=True,
        ),
    )
    def send_back(self):
        pass

    @transition(
        state,
        source=State.APPROVED,
        target=State.RESOLVED,
        permission=roles.is_system,
        custom=declare(_("Remedy applied"), tells_applicant="remedy_applied"),
    )
    def remedy_applied(self):
        pass

    @transition(
        state,
        source=State.APPROVED,
        target=State.REMEDY_FAILED,
        permission=roles.is_system,
        custom=declare(
            _("Remedy failed"),
            params=[Param("error", _("Error"), help=_("Why it failed."))],
            note_from="error",
        ),
    )
    def remedy_failed(self):
        pass

    @transition(
        state,
        source=State.REMEDY_FAILED,
        target=State.APPROVED,
        permission=roles.is_supervisor,
        custom=declare(_("Retry the remedy")),
    )
    def retry_remedy(self):
        pass

    @transition(
        state,
        source=State.IN_REVIEW,
        target=State.RESOLVED,
        permission=roles.is_agent,
        conditions=[is_other_category],
        custom=declare(
            _("Resolve"),
            params=[
                Param(
                    "note",
                    _("How it was resolved (sent to the applicant)"),
                    required=True,
                    missing=_("Tell the applicant how the complaint was resolved."),
                    help=_("How it was resolved, sent to the applicant (required)."),
                )
            ],
            public="note",
            tells_applicant="resolved",
        ),
    )
    def resolve(self):
        """Resolve a complaint of category `other`, which has no remedy to apply."""

    @transition(
        state,
        source=[State.REPORTED, State.IN_REVIEW, State.AWAITING_INFO],
        target=State.REJECTED,
        permission=roles.is_agent,
        custom=declare(
            _("Reject"),
            params=[
                Param(
                    "reason",
                    _("Reason"),
                    required=True,
                    missing=_("Give the reason for the rejection."),
                    help=_("Why the report is rejected, sent to the applicant (required)."),
                ),
                NOTE,
            ],
            public="reason",
            note_from="reason",
            tells_applicant="rejected",
            danger=True,
        ),
    )
    def reject(self):
        pass

    @transition(
        state,
        source=[State.REPORTED, State.IN_REVIEW, State.AWAITING_INFO],
        target=State.DUPLICATE,
        permission=roles.is_agent,
        custom=declare(
            _("Mark as duplicate"),
            params=[
                Param(
                    "original",
                    _("Reference of the original ticket"),
                    "text",
                    required=True,
                    missing=_("Name the original ticket."),
                    help=_("The reference of the original ticket (required)."),
                ),
                NOTE,
            ],
            note_from="original",
            tells_applicant="duplicate",
            danger=True,
        ),
    )
    def mark_duplicate(self, *, original):
        self.duplicate_of = original

    @transition(
        state,
        source=State.RESOLVED,
        target=State.CLOSED,
        permission=roles.may_confirm,
        custom=declare(_("Close (applicant confirmed)"), tells_applicant="closed"),
    )
    def confirm(self):
        pass

    @transition(
        state,
        source=[State.RESOLVED, State.REJECTED],
        target=State.IN_REVIEW,
        permission=roles.may_reopen,
        custom=declare(_("Reopen")),
    )
    def reopen(self):
        pass

    @transition(
        state,
        source=State.AWAITING_INFO,
        target=State.CLOSED,
        permission=roles.is_system,
        custom=declare(_("Closed without an answer"), tells_applicant="closed_unanswered"),
    )
    def close_unanswered(self):
        pass


class TicketTransition(models.Model):
    """Append-only log of every state change: who, when, from, to, and the note."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="transitions", verbose_name=_("ticket")
    )
    name = models.CharField(max_length=32, verbose_name=_("transition"))
    source = models.CharField(max_length=32, verbose_name=_("from"))
    target = models.CharField(max_length=32, verbose_name=_("to"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("by"),
    )
    actor_kind = models.CharField(max_length=16, verbose_name=_("by (kind)"))  # staff, applicant, system
    note = models.TextField(blank=True, verbose_name=_("note"))
    public_note = models.TextField(blank=True, verbose_name=_("note for the applicant"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("at"))

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("transition")
        verbose_name_plural = _("transition log")
        indexes = [models.Index(fields=["ticket", "created_at"]), models.Index(fields=["name", "created_at"])]

    def __str__(self):
        return f"{self.ticket_id}: {self.source} -> {self.target}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("The transition log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("The transition log is append-only.")


class SerialNumber(models.Model):
    """An e-meterai serial number named by a ticket; indexed to spot duplicates and to search."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="serials", verbose_name=_("ticket")
    )
    value = models.CharField(max_length=22, verbose_name=_("serial number"))

    class Meta:
        constraints = [models.UniqueConstraint(fields=["ticket", "value"], name="unique_serial_per_ticket")]
        indexes = [models.Index(fields=["value"], name="serial_value_idx")]

    def __str__(self):
        return self.value


def evidence_path(instance, filename):
    return f"evidence/{instance.ticket.reference}/{secrets.token_hex(8)}-{filename}"


class Evidence(models.Model):
    """A screenshot, checked, re-encoded without metadata, stored through Django's storage API.

    A web upload is stored `pending` (its header checked, the raw bytes in private storage) and a
    worker on the `media` queue makes it `ready` (tickets/evidence_pipeline.py); nothing pending is
    ever served, and a file the worker refuses is deleted with its row.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Being checked")
        READY = "ready", _("Checked")

    class Source(models.TextChoices):
        UPLOAD = "upload", _("Upload")
        WHATSAPP = "whatsapp", _("WhatsApp")
        EMAIL = "email", _("Email")
        STAFF = "staff", _("Sent by staff")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="evidence", verbose_name=_("ticket")
    )
    message = models.ForeignKey(
        "notifications.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="evidence",
        verbose_name=_("message"),
    )
    source = models.CharField(
        max_length=16, choices=Source.choices, default=Source.UPLOAD, verbose_name=_("source")
    )
    file = models.FileField(upload_to=evidence_path, max_length=255, verbose_name=_("file"))
    thumbnail = models.FileField(
        upload_to=evidence_path, max_length=255, blank=True, verbose_name=_("thumbnail")
    )
    content_type = models.CharField(max_length=32, verbose_name=_("content type"))
    width = models.PositiveIntegerField(verbose_name=_("width"))
    height = models.PositiveIntegerField(verbose_name=_("height"))
    size_bytes = models.PositiveIntegerField(verbose_name=_("size in bytes"))
    sha256 = models.CharField(max_length=64, verbose_name=_("SHA-256"))
    original_name = models.CharField(max_length=255, blank=True, verbose_name=_("file name"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("received at"))
    state = models.CharField(
        max_length=8, choices=State.choices, default=State.READY, verbose_name=_("state")
    )
    claimed_at = models.DateTimeField(null=True, blank=True)  # a worker started processing it
    attempts = models.PositiveSmallIntegerField(default=0)  # workers that claimed it while pending

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("evidence")
        verbose_name_plural = _("evidence")
        indexes = [
            models.Index(fields=["sha256"], name="evidence_sha256_idx"),
            models.Index(
                fields=["created_at"], condition=models.Q(state="pending"), name="evidence_pending_idx"
            ),
        ]

    def __str__(self):
        return f"{self.ticket_id}/{self.original_name or self.pk}"

    @property
    def is_ready(self):
        return self.state == self.State.READY


class IdempotencyRecord(models.Model):
    """The first answer to a report submitted with an Idempotency-Key, replayed on retries."""

    key = models.CharField(max_length=128, unique=True)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField()
    ticket = models.ForeignKey(Ticket, null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return self.key
