"""Incidents: an outage of the stamping platform, the window it covers, and the reports linked to it."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Ticket


class Failed(models.TextChoices):
    STAMPING = "stamping", _("Stamping")
    PURCHASE = "purchase", _("Purchase")
    BOTH = "both", _("Stamping and purchase")


class IncidentQuerySet(models.QuerySet):
    def open(self, now=None):
        now = now or timezone.now()
        return self.filter(starts_at__lte=now).filter(models.Q(ends_at=None) | models.Q(ends_at__gt=now))


class Incident(models.Model):
    title = models.CharField(max_length=200, verbose_name=_("title"))
    starts_at = models.DateTimeField(verbose_name=_("window start"))
    ends_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("window end"), help_text=_("Empty while the incident lasts.")
    )
    failed = models.CharField(max_length=8, choices=Failed.choices, verbose_name=_("what failed"))
    notice_id = models.TextField(verbose_name=_("public notice (Indonesian)"))
    notice_en = models.TextField(verbose_name=_("public notice (English)"))
    notice_version = models.PositiveIntegerField(
        default=1, editable=False, verbose_name=_("notice version")
    )  # bumped when either notice text changes: a changed notice may be sent again
    auto_propose = models.BooleanField(
        default=True, verbose_name=_("propose confirmed reports automatically")
    )
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("declared by"),
    )
    declared_at = models.DateTimeField(default=timezone.now, verbose_name=_("declared at"))
    tickets = models.ManyToManyField(Ticket, through="IncidentTicket", related_name="incidents")

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at=None) | models.Q(ends_at__gt=models.F("starts_at")),
                name="incident_window_ends_after_start",
            )
        ]

    def __str__(self):
        return self.title

    @property
    def is_open(self):
        now = timezone.now()
        return self.starts_at <= now and (self.ends_at is None or self.ends_at > now)

    def notice(self, language):
        return self.notice_en if (language or "").startswith("en") else self.notice_id


class IncidentTicket(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="links")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="incident_links")
    linked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("linked report")
        verbose_name_plural = _("linked reports")
        constraints = [models.UniqueConstraint(fields=["incident", "ticket"], name="incident_ticket_once")]

    def __str__(self):
        return f"{self.incident_id}:{self.ticket_id}"


class JobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")


class BulkApproval(models.Model):
    """A supervisor's "approve all confirmed proposals" of one incident, run by a worker.

    Each item is judged on its own, with the four-eyes rule, a chunk of items per transaction
    (incidents.services.run_bulk_approval); running the job again (a worker killed, a retry) skips
    what is approved already and retries what failed."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="bulk_approvals")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("started by")
    )
    started_at = models.DateTimeField(default=timezone.now, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    touched_at = models.DateTimeField(default=timezone.now)  # last chunk committed: a stale job is resumed
    state = models.CharField(max_length=8, choices=JobState.choices, default=JobState.QUEUED)
    remedy_ids = models.JSONField(default=list, editable=False)  # the proposals to approve, taken at start
    total = models.PositiveIntegerField(default=0, verbose_name=_("proposals"))
    approved = models.PositiveIntegerField(default=0, verbose_name=_("approved"))
    failures = models.JSONField(
        default=dict, blank=True, verbose_name=_("failures")
    )  # remedy id -> {"ticket": reference, "error": message}

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("bulk approval")
        verbose_name_plural = _("bulk approvals")

    def __str__(self):
        return f"{self.incident_id}: {self.approved}/{self.total}"

    @property
    def failed(self):
        return len(self.failures)

    @property
    def done(self):
        return self.approved + self.failed

    @property
    def percent(self):
        return 100 if not self.total else min(100, round(100 * self.done / self.total))


class NoticeRun(models.Model):
    """Sending one version of an incident's notice to every applicant of its linked reports."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notice_runs")
    version = models.PositiveIntegerField(verbose_name=_("notice version"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("started by")
    )
    started_at = models.DateTimeField(default=timezone.now, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))
    state = models.CharField(max_length=8, choices=JobState.choices, default=JobState.QUEUED)
    touched_at = models.DateTimeField(default=timezone.now)  # last batch started: a stale run is resumed

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("notice sending")
        verbose_name_plural = _("notice sendings")

    def __str__(self):
        return f"{self.incident_id} v{self.version}"


class IncidentNotice(models.Model):
    """One ticket was sent one version of an incident's notice (written with its outbox messages)."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notices_sent")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "ticket", "version"], name="incident_notice_once")
        ]

    def __str__(self):
        return f"{self.incident_id}:{self.ticket_id} v{self.version}"
