"""factory-boy factories; `ticket_in_state` builds a ticket already in any workflow state."""

import factory
from django.contrib.auth import get_user_model

from refunds.models import Remedy, RemedyKind, RemedyState
from tickets.models import Category, SerialNumber, State, Ticket


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("secret-pass-123")


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    category = Category.STAMP_FAILED
    full_name = factory.Faker("name", locale="id_ID")
    nik = factory.Sequence(lambda n: f"3171010101{n % 1000000:06d}")
    email = factory.Sequence(lambda n: f"pelapor{n}@example.com")
    whatsapp = factory.Sequence(lambda n: f"+62812{n % 100000000:08d}")
    preferred_channel = "whatsapp"
    language = "id"
    quota_lost = 2
    document_name = "surat-lamaran.pdf"


class RemedyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Remedy

    ticket = factory.SubFactory(TicketFactory)
    kind = RemedyKind.QUOTA
    quantity = 2
    account = factory.LazyAttribute(lambda remedy: remedy.ticket.email)
    proposed_by = factory.SubFactory(UserFactory)


REMEDY_STATE_FOR = {
    State.AWAITING_APPROVAL: RemedyState.PROPOSED,
    State.APPROVED: RemedyState.APPROVED,
    State.RESOLVED: RemedyState.APPLIED,
    State.REMEDY_FAILED: RemedyState.FAILED,
}


def ticket_in_state(state, *, proposer=None, serials=(), **fields):
    """A ticket in `state`, with the remedy that state implies (proposed by `proposer`)."""
    ticket = TicketFactory(state=state, **fields)
    for value in serials:
        SerialNumber.objects.create(ticket=ticket, value=value)
    remedy_state = REMEDY_STATE_FOR.get(state)
    if remedy_state is not None and ticket.category != Category.OTHER:
        RemedyFactory(ticket=ticket, state=remedy_state, proposed_by=proposer or UserFactory())
    return ticket
