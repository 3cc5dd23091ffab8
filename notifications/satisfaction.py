"""Customer satisfaction (CSAT): one question after a ticket closes, its answer, opting out, the figures.

Asked once per ticket (one `SatisfactionSurvey` row per ticket, by the database), on the applicant's
preferred channel, from the hooks of the `confirm` and `close_unanswered` transitions. Answered by a
WhatsApp reply with a digit, or by one click on a link (email, status page) that opens a page where a
comment can be added. A number or address that opts out is never asked again.
"""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count
from django.db.models.functions import TruncWeek
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from notifications import conversation, services
from notifications.models import MessageChannel, SatisfactionOptOut, SatisfactionSurvey

RATINGS = range(1, 6)
# Words a WhatsApp message may be to opt out (compared without case and spaces).
OPT_OUT_WORDS = {"stopsurvei", "stopsurvey", "berhentisurvei"}
# A digit sent this long after the question still answers it.
ANSWER_WINDOW = timedelta(days=14)
# A text sent this long after a WhatsApp rating is taken as its comment.
COMMENT_WINDOW = timedelta(hours=2)
LABELS = {
    1: gettext_lazy("Very dissatisfied"),
    2: gettext_lazy("Dissatisfied"),
    3: gettext_lazy("Neutral"),
    4: gettext_lazy("Satisfied"),
    5: gettext_lazy("Very satisfied"),
}


def _contact(channel, ticket):
    if channel == MessageChannel.WHATSAPP:
        return ticket.whatsapp
    return (ticket.email or "").lower()


def opted_out(ticket):
    contacts = [value for value in (ticket.whatsapp, (ticket.email or "").lower()) if value]
    return SatisfactionOptOut.objects.filter(contact__in=contacts).exists()


def survey_url(survey, rating=None):
    path = reverse("csat", args=[survey.token])
    return f"{settings.PUBLIC_BASE_URL}{path}" + (f"?rating={rating}" if rating else "")


def opt_out_url(survey):
    return f"{settings.PUBLIC_BASE_URL}{reverse('csat-opt-out', args=[survey.token])}"


def _question(survey, channel):
    """The channel's own way to answer, in the applicant's language (the caller sets it)."""
    if channel == MessageChannel.WHATSAPP:
        return _(
            "Reply with one number from 1 (very dissatisfied) to 5 (very satisfied). "
            "To never be asked again, reply STOP SURVEI."
        )
    links = "\n".join(f"{rating} – {LABELS[rating]}: {survey_url(survey, rating)}" for rating in RATINGS)
    return (
        _("Choose your rating with one click:")
        + f"\n{links}\n"
        + _("Never ask me again: %(link)s") % {"link": opt_out_url(survey)}
    )


def ask(*, ticket):
    """Ask the closed ticket's applicant once, on their preferred channel; None when not asked."""
    if not settings.CSAT_ENABLED or ticket.erased_at is not None or opted_out(ticket):
        return None
    channels = [ticket.preferred_channel, MessageChannel.WHATSAPP, MessageChannel.EMAIL]
    channel = next((name for name in channels if _contact(name, ticket)), None)
    if channel is None:
        return None
    try:
        with transaction.atomic():
            survey = SatisfactionSurvey.objects.create(
                ticket=ticket, agent_id=ticket.assigned_to_id, channel=channel
            )
    except IntegrityError:
        return None  # asked already (closed before, reopened, closed again)
    with translation.override(ticket.language or "id"):
        question = _question(survey, channel)
    services.notify(ticket=ticket, event="csat_request", channels=[channel], message=question)
    return survey


def record(*, survey, rating, comment=None):
    """Store (or change) the rating, and the comment when one is given; returns the survey."""
    if rating not in RATINGS:
        raise ValueError("rating out of range")
    with transaction.atomic():
        locked = SatisfactionSurvey.objects.select_for_update().get(pk=survey.pk)
        locked.rating = rating
        locked.answered_at = locked.answered_at or timezone.now()
        fields = ["rating", "answered_at"]
        if comment is not None:
            locked.comment = comment.strip()[:2000]
            fields.append("comment")
        locked.save(update_fields=fields)
    return locked


def opt_out(contact):
    if contact:
        SatisfactionOptOut.objects.get_or_create(contact=contact.lower() if "@" in contact else contact)


def _latest_survey(number):
    return (
        SatisfactionSurvey.objects.filter(ticket__whatsapp=number, channel=MessageChannel.WHATSAPP)
        .select_related("ticket")
        .order_by("-asked_at")
        .first()
    )


def _answer_kind(number, text):
    """("opt_out" | "rating" | "comment", survey) when `text` from `number` answers a survey, else None."""
    if not text:
        return None
    survey = _latest_survey(number)
    if survey is None:
        return None
    now = timezone.now()
    if "".join(text.lower().split()) in OPT_OUT_WORDS:
        return "opt_out", survey
    if text in {str(rating) for rating in RATINGS} and now - survey.asked_at <= ANSWER_WINDOW:
        return "rating", survey
    if survey.rating is not None and not survey.comment and now - survey.answered_at <= COMMENT_WINDOW:
        if conversation.ticket_for_whatsapp(number) is None:
            return "comment", survey
    return None


def is_answer(*, number, body):
    """Whether a WhatsApp message answers a survey (so it starts no guided report); changes nothing."""
    return _answer_kind(number, (body or "").strip()) is not None


def whatsapp_answer(*, number, body):
    """A WhatsApp message that answers the survey (a digit, a comment just after, the opt-out words).

    Returns the survey's ticket the message belongs to, or None when it is not about the survey.
    """
    text = (body or "").strip()
    found = _answer_kind(number, text)
    if found is None:
        return None
    kind, survey = found
    if kind == "opt_out":
        opt_out(number)
    elif kind == "rating":
        already = survey.rating is not None
        record(survey=survey, rating=int(text))
        if not already:
            with translation.override(survey.ticket.language or "id"):
                follow_up = _("Want to add a comment? Reply to this message.")
            services.notify(
                ticket=survey.ticket,
                event="csat_thanks",
                channels=[MessageChannel.WHATSAPP],
                message=follow_up,
            )
    else:
        record(survey=survey, rating=survey.rating, comment=text)
    return survey.ticket


# --- figures for the dashboard ----------------------------------------------------------------


def _answered(days):
    since = timezone.now() - timedelta(days=days)
    return SatisfactionSurvey.objects.filter(answered_at__gte=since, rating__isnull=False)


def per_week(days=84):
    """[(Monday of the week, answers, average rating), ...] oldest first, over the last `days`."""
    rows = (
        _answered(days)
        .annotate(week=TruncWeek("answered_at"))
        .values("week")
        .annotate(answers=Count("id"), average=Avg("rating"))
        .order_by("week")
    )
    return [(row["week"].date(), row["answers"], round(row["average"], 2)) for row in rows]


def per_agent(days=84):
    """[(agent's username, answers, average rating), ...] best average first, over the last `days`."""
    rows = (
        _answered(days)
        .values("agent__username")
        .annotate(answers=Count("id"), average=Avg("rating"))
        .order_by("-average", "agent__username")
    )
    return [(row["agent__username"] or "—", row["answers"], round(row["average"], 2)) for row in rows]
