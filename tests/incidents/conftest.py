"""Incidents for the tests: a window around now, and reports in and out of it."""

from datetime import timedelta

from django.utils import timezone

from incidents import services
from incidents.models import Failed


def declare(actor, *, failed=Failed.STAMPING, hours_ago=2, ends_at=None, **fields):
    fields.setdefault("title", "Gangguan server meterai")
    fields.setdefault("notice_id", "Kami tahu tentang gangguan ini. Kuota Anda akan dikembalikan.")
    fields.setdefault("notice_en", "We know about this outage. Your quota will be restored.")
    return services.declare_incident(
        actor=actor,
        starts_at=timezone.now() - timedelta(hours=hours_ago),
        ends_at=ends_at,
        failed=failed,
        **fields,
    )
