"""The applicant's satisfaction pages: the one-click rating link (email, status page) and opting out.

Reached by the survey's own random token, never by the ticket's reference; in the ticket's language.
"""

from django import forms
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from notifications import satisfaction
from notifications.models import MessageChannel, SatisfactionSurvey


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("Your rating"),
        choices=[(rating, f"{rating} – {satisfaction.LABELS[rating]}") for rating in satisfaction.RATINGS],
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose a rating from 1 to 5."),
            "invalid_choice": _("Choose a rating from 1 to 5."),
        },
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def _survey(token):
    return get_object_or_404(SatisfactionSurvey.objects.select_related("ticket"), token=token)


@never_cache
def rate(request, token):
    """GET `?rating=N` records the rating at once (one click); the page then takes a comment (POST)."""
    survey = _survey(token)
    with translation.override(survey.ticket.language or "id"):
        saved = False
        if request.method == "POST":
            form = RatingForm(request.POST)
            if form.is_valid():
                survey = satisfaction.record(
                    survey=survey, rating=form.cleaned_data["rating"], comment=form.cleaned_data["comment"]
                )
                saved = True
        else:
            clicked = request.GET.get("rating", "")
            if clicked.isdigit() and int(clicked) in satisfaction.RATINGS:
                survey = satisfaction.record(survey=survey, rating=int(clicked))
                saved = True
            form = RatingForm(initial={"rating": survey.rating, "comment": survey.comment})
        context = {"survey": survey, "ticket": survey.ticket, "form": form, "saved": saved}
        return TemplateResponse(request, "notifications/csat.html", context).render()


@never_cache
def opt_out(request, token):
    """Opting out of surveys for the contact the question went to; GET asks, POST does."""
    survey = _survey(token)
    ticket = survey.ticket
    with translation.override(ticket.language or "id"):
        done = False
        if request.method == "POST":
            contact = ticket.whatsapp if survey.channel == MessageChannel.WHATSAPP else ticket.email
            satisfaction.opt_out(contact)
            done = True
        context = {"survey": survey, "ticket": ticket, "done": done}
        return TemplateResponse(request, "notifications/csat_opt_out.html", context).render()
