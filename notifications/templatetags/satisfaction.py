"""`{% csat_invitation ticket %}`: the one-click rating links on a closed ticket's status page."""

from django import template
from django.urls import reverse

from notifications import satisfaction
from notifications.models import SatisfactionSurvey

register = template.Library()


@register.inclusion_tag("notifications/_csat_invitation.html")
def csat_invitation(ticket):
    survey = SatisfactionSurvey.objects.filter(ticket=ticket).first()
    if survey is None:
        return {"survey": None}
    page = reverse("csat", args=[survey.token])  # on our own page: a link relative to the site
    links = [
        (rating, satisfaction.LABELS[rating], f"{page}?rating={rating}") for rating in satisfaction.RATINGS
    ]
    return {"survey": survey, "links": links}
