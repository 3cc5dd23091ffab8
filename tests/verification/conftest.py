"""Claims and records for the verification tests: serial numbers, tickets that name them."""

import pytest

from tests.factories import TicketFactory
from tickets.models import Category, SerialNumber, State

ACCOUNT = "siti@example.com"


def serial(n):
    """A well-formed e-meterai serial number (22 digits or capital letters)."""
    return f"SN{n:020d}"


def stamp_ticket(*serials, state=State.REPORTED, account=ACCOUNT, **fields):
    """A stamp_failed ticket naming these serial numbers, from the applicant with this platform account."""
    fields.setdefault("quota_lost", len(serials))
    ticket = TicketFactory(state=state, email=account, language=fields.pop("language", "id"), **fields)
    for value in serials:
        SerialNumber.objects.create(ticket=ticket, value=value)
    return ticket


def order_ticket(order_id="ORD-2024-0001", *, money=False, account=ACCOUNT, **fields):
    """A paid_not_credited ticket for this order; the applicant wants quota back, or money with `money`."""
    payout = (
        dict(
            remedy_preference="money",
            payout_method="bank",
            payout_account="BCA 1234567890",
            payout_name="Siti",
        )
        if money
        else dict(remedy_preference="quota")
    )
    return TicketFactory(
        category=Category.PAID_NOT_CREDITED,
        quota_lost=None,
        order_id=order_id,
        amount_paid=fields.pop("amount_paid", 100_000),
        email=account,
        **payout,
        **fields,
    )


@pytest.fixture
def platform(platform_double, settings):
    """The platform double serving records over loopback HTTP; remedies are not applied (paused)."""
    settings.REMEDIES_PAUSED = True
    settings.VERIFICATION_RETRY_SECONDS = 60
    return platform_double
