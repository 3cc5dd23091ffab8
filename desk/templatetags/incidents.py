"""Template tags of the applicant's pages about incidents: the open ones' notice, and a report's link."""

import logging

from django import template
from django.utils import translation

from incidents import selectors

log = logging.getLogger(__name__)
register = template.Library()


@register.inclusion_tag("incidents/_open_notices.html")
def open_incident_notices():
    """The notice of every open incident, in the page's language (read from a brief cache)."""
    english = (translation.get_language() or "").startswith("en")
    try:
        incidents = selectors.open_incidents()
    except Exception:  # the notice is a courtesy: a database or cache outage never breaks the page
        log.exception("Could not read the open incidents")
        incidents = []
    return {
        "notices": [
            dict(title=incident["title"], body=incident["notice_en" if english else "notice_id"])
            for incident in incidents
        ]
    }


@register.inclusion_tag("incidents/_linked.html")
def linked_incident(ticket):
    """On the confirmation and the status page: the incidents this report is linked to, and what follows."""
    english = (translation.get_language() or "").startswith("en")
    return {
        "incidents": [
            dict(
                title=incident.title,
                notice=incident.notice("en" if english else "id"),
                auto=incident.auto_propose,
            )
            for incident in selectors.linked_incidents(ticket)
        ]
    }
