"""An erasure request never redacts what a remedy in flight still needs: it waits for the payout."""

import pytest

from notifications.models import Message
from refunds.gateways import GatewayError, HttpPayoutGateway
from refunds.models import LedgerEntry, Remedy, RemedyState
from refunds.tasks import apply_remedy
from tests.refunds.helpers import refund_proposal
from tickets import services as tickets
from tickets.models import State, Ticket
from tickets.tasks import erase_expired

ACCOUNT = "BCA 1234567890"


def approved_refund(alice, sam, settings):
    """A refund approved while the payout worker is busy elsewhere: it waits, approved, not yet paid."""
    settings.REMEDIES_PAUSED = True
    remedy = refund_proposal(alice, amount=75_000)
    tickets.fire("approve", ticket=remedy.ticket, actor=sam)
    settings.REMEDIES_PAUSED = False
    return remedy


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_erasure_requested_before_the_payout_happens_after_it_with_the_real_account(
    alice, sam, payout_double, settings
):
    remedy = approved_refund(alice, sam, settings)
    ticket = tickets.erase_personal_data(ticket=remedy.ticket, actor=alice, note="Erasure request")
    assert ticket.erased_at is None and ticket.erasure_requested_at is not None
    assert erase_expired() == 0  # the payout still needs the account

    apply_remedy.delay(remedy.pk)  # the payout worker
    (request,) = payout_double.requests
    assert (request.body["account"], request.body["name"]) == (ACCOUNT, "Siti Aminah")
    assert Remedy.objects.get(pk=remedy.pk).state == RemedyState.APPLIED

    assert erase_expired() == 1
    ticket = Ticket.objects.get(pk=remedy.ticket_id)
    assert ticket.erased_at is not None and ticket.payout_account == "" and ticket.nik == ""
    assert Remedy.objects.get(pk=remedy.pk).payout_account == tickets.REDACTED
    assert LedgerEntry.objects.get(remedy=remedy).amount == 75_000
    assert ticket.state == State.RESOLVED


@pytest.mark.django_db
def test_the_applicant_is_told_the_erasure_will_follow_the_payout(alice, sam, settings):
    remedy = approved_refund(alice, sam, settings)
    Ticket.objects.filter(pk=remedy.ticket_id).update(language="en")
    tickets.erase_personal_data(ticket=remedy.ticket, actor=alice)
    tickets.erase_personal_data(ticket=remedy.ticket, actor=alice)  # asked twice, told once
    told = Message.objects.filter(ticket=remedy.ticket, event="erasure_scheduled")
    assert told.count() == 2  # WhatsApp and email, once each
    assert all("erased as soon as your Rp 75.000 has been processed" in m.body for m in told)
    assert remedy.ticket.transitions.filter(name="erasure_requested", actor=alice).count() == 1


@pytest.mark.django_db
def test_an_erasure_request_waits_while_a_proposal_awaits_approval(alice):
    remedy = refund_proposal(alice)
    ticket = tickets.erase_personal_data(ticket=remedy.ticket, actor=alice)
    assert ticket.erased_at is None
    assert Remedy.objects.get(pk=remedy.pk).payout_account == ACCOUNT
    assert erase_expired() == 0


@pytest.mark.django_db
def test_an_erasure_request_is_carried_out_once_the_remedy_has_failed(alice, sam, payout_double, settings):
    remedy = approved_refund(alice, sam, settings)
    tickets.erase_personal_data(ticket=remedy.ticket, actor=alice)
    payout_double.fail_next(400)
    apply_remedy.delay(remedy.pk)
    assert Ticket.objects.get(pk=remedy.ticket_id).state == State.REMEDY_FAILED
    assert erase_expired() == 1
    assert Ticket.objects.get(pk=remedy.ticket_id).erased_at is not None


@pytest.mark.django_db
def test_the_payout_gateway_never_pays_to_a_redacted_account(alice, payout_double):
    remedy = refund_proposal(alice)
    remedy.payout_account = tickets.REDACTED
    with pytest.raises(GatewayError) as raised:
        HttpPayoutGateway(payout_double.url, payout_double.token).apply(remedy)
    assert raised.value.permanent and not payout_double.requests
