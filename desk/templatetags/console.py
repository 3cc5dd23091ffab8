"""Template tags of the help-desk console."""

import calendar
import datetime

from django import template
from django.db.models import Max, Min
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from tickets import roles, selectors, workflow

register = template.Library()


@register.inclusion_tag("admin/date_hierarchy.html")
def cheap_date_hierarchy(cl):
    """Django's date drill-down without its `SELECT DISTINCT date_trunc(...)` over the whole table.

    Years come from one MIN/MAX (two index probes); months and days of a chosen period are listed
    from the calendar instead of from the rows, so the links cost nothing at a million tickets.
    """
    field = cl.date_hierarchy
    year, month, day = (cl.params.get(f"{field}__{part}") for part in ("year", "month", "day"))
    generic = f"{field}__"

    def link(filters):
        return cl.get_query_string(filters, [generic])

    if year and month and day:
        chosen = datetime.date(int(year), int(month), int(day))
        return {
            "show": True,
            "back": {
                "link": link({f"{field}__year": year, f"{field}__month": month}),
                "title": _month(chosen),
            },
            "choices": [{"title": capfirst(formats.date_format(chosen, "MONTH_DAY_FORMAT"))}],
        }
    if year and month:
        days = calendar.monthrange(int(year), int(month))[1]
        return {
            "show": True,
            "back": {"link": link({f"{field}__year": year}), "title": str(year)},
            "choices": [
                {
                    "link": link({f"{field}__year": year, f"{field}__month": month, f"{field}__day": number}),
                    "title": str(number),
                }
                for number in range(1, days + 1)
            ],
        }
    if year:
        return {
            "show": True,
            "back": {"link": link({}), "title": _("All dates")},
            "choices": [
                {
                    "link": link({f"{field}__year": year, f"{field}__month": number}),
                    "title": _month(datetime.date(int(year), number, 1)),
                }
                for number in range(1, 13)
            ],
        }
    bounds = cl.queryset.order_by().aggregate(first=Min(field), last=Max(field))
    if not bounds["first"]:
        return {"show": False}
    first, last = (timezone.localtime(bounds[key]).year for key in ("first", "last"))
    return {
        "show": True,
        "choices": [
            {"link": link({f"{field}__year": number}), "title": str(number)}
            for number in range(first, last + 1)
        ],
    }


def _month(day):
    return capfirst(formats.date_format(day, "YEAR_MONTH_FORMAT"))


@register.filter
def get_item(mapping, key):
    return mapping.get(key)


@register.inclusion_tag("admin/tickets/index_links.html", takes_context=True)
def console_links(context):
    """The help desk's entry points on the admin index: my tickets, the queue, the dashboard."""
    user = context["request"].user
    return {
        "show": roles.is_agent(None, user) or roles.is_supervisor(None, user),
        "supervisor": user.is_superuser or roles.is_supervisor(None, user),
    }


@register.inclusion_tag("admin/tickets/replies_badge.html", takes_context=True)
def replies_badge(context):
    """In the console's header: how many of my (or unassigned) tickets the applicant wrote on, unread."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not roles.is_agent(None, user):
        return {"count": 0}
    return {"count": selectors.replies_waiting(user)}


# Log entries that are not workflow transitions.
LOG_STEPS = {
    "report": _lazy("Report received"),
    "erasure_requested": _lazy("Erasure requested"),
    "erase_personal_data": _lazy("Personal data erased"),
}


@register.filter
def transition_label(name):
    """A logged transition in the words its declaration gives it (never `start_review`)."""
    found = workflow.spec(name)
    return found.declaration.label if found else LOG_STEPS.get(name, name)


ACTOR_KINDS = {"system": _lazy("system"), "applicant": _lazy("applicant"), "staff": _lazy("staff")}


@register.filter
def actor_label(kind):
    return ACTOR_KINDS.get(kind, kind)
