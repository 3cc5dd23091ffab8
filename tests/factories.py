"""factory-boy factories; `ticket_in_state` builds a ticket already in any workflow state."""

import factory
from django.contrib.auth import get_user_model

from refunds import consistency
from refunds.models import Remedy, RemedyKind
from tickets.models import Category, SerialNumber, Ticket


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


def ticket_in_state(state, *, proposer=None, serials=(), **fields):
    """A ticket in `state`, with the remedy that state implies (proposed by `proposer`), as the one
    rule that ties the two state machines (refunds.consistency) has it."""
    ticket = TicketFactory(state=state, **fields)
    for value in serials:
        SerialNumber.objects.create(ticket=ticket, value=value)
    allowed = consistency.allowed_current_states(ticket)
    if consistency.NO_REMEDY not in allowed:
        (remedy_state,) = allowed
        RemedyFactory(ticket=ticket, state=remedy_state, proposed_by=proposer or UserFactory())
    consistency.check(ticket)
    return ticket
