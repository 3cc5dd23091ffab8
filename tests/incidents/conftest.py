"""Incidents for the tests: a window around now, and reports in and out of it."""

from datetime import timedelta

import pytest
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


def confirmed_report(platform, n, **fields):
    """A stamp_failed report in the incident's window that the platform confirms: the system proposed."""
    from tests.verification.conftest import ACCOUNT, serial, stamp_ticket
    from verification import services as verification

    platform.add_stamping(serial(n), ACCOUNT)
    ticket = stamp_ticket(serial(n), attempted_at=timezone.now() - timedelta(minutes=30), **fields)
    services.link_new_report(ticket=ticket)  # what intake's hook does (the factory skips intake)
    verification.verify_ticket(ticket_id=ticket.pk)
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def platform(platform_double, settings):
    """The platform double over loopback HTTP; remedies are approved but not applied (paused)."""
    settings.REMEDIES_PAUSED = True
    settings.VERIFICATION_RETRY_SECONDS = 60
    return platform_double


@pytest.fixture
def admin_client_for(client):
    def login(user):
        client.force_login(user)
        return client

    return login
