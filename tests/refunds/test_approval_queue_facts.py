"""The approval queue shows the claim beside the proposal; the flash after approving tells the real state."""

import io

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from PIL import Image

from tests.refunds.helpers import quota_proposal, refund_proposal
from tickets import services
from tickets.evidence import process_image
from tickets.models import SerialNumber, State

pytestmark = pytest.mark.django_db
QUEUE = "/admin/refunds/remedyawaitingapproval/"


def login(user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def png(seed):
    out = io.BytesIO()
    Image.new("RGB", (60, 40), (seed * 50 % 255, 80, 120)).save(out, "PNG")
    return out.getvalue()


def test_queue_shows_thumbnail_and_key_facts_without_a_query_per_row(
    sam, alice, django_assert_max_num_queries
):
    quota = quota_proposal(alice, quantity=4)
    SerialNumber.objects.create(ticket=quota.ticket, value="0" * 22)
    item = services.attach_evidence(ticket=quota.ticket, name="riwayat.png", image=process_image(png(1)))
    refund = refund_proposal(alice, amount=30_000)
    for seed in range(2, 12):
        proposal = quota_proposal(alice)
        services.attach_evidence(ticket=proposal.ticket, name="x.png", image=process_image(png(seed)))
    client = login(sam)
    client.get(QUEUE)
    with django_assert_max_num_queries(17):
        page = client.get(QUEUE).content.decode()
    assert f"/evidence/{item.pk}/?thumb=1" in page
    assert "4 stamps lost" in page and "serial " + "0" * 22 in page
    assert "order ORD-1" in page and "paid Rp 30.000" in page and refund.ticket.reference in page


def test_flash_after_approval_names_the_state_the_ticket_is_really_in(sam, alice, settings):
    settings.REMEDIES_PAUSED = False  # applied at once (tasks run in-process): the ticket is resolved
    remedy = quota_proposal(alice)
    response = login(sam).post(
        QUEUE, {"action": "approve_selected", "_selected_action": [remedy.pk]}, follow=True
    )
    remedy.ticket.refresh_from_db()
    flashed = [str(message) for message in get_messages(response.wsgi_request)]
    label = remedy.ticket.get_state_display()
    assert any(remedy.ticket.reference in text and f"now “{label}”" in text for text in flashed), flashed


def test_flash_while_remedies_are_paused_says_approved(sam, alice, settings):
    settings.REMEDIES_PAUSED = True
    remedy = quota_proposal(alice)
    response = login(sam).post(
        QUEUE, {"action": "approve_selected", "_selected_action": [remedy.pk]}, follow=True
    )
    flashed = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("now “Approved”" in text for text in flashed), flashed


@pytest.mark.django_db(transaction=True)
def test_flash_after_approving_on_the_ticket_page_names_the_real_state(sam, alice, settings):
    settings.REMEDIES_PAUSED = False  # applied when the approval commits (tasks run in-process)
    remedy = quota_proposal(alice)
    url = f"/admin/tickets/ticket/{remedy.ticket.pk}/transition/approve/"
    response = login(sam).post(url, {}, follow=True)
    remedy.ticket.refresh_from_db()
    flashed = [str(message) for message in get_messages(response.wsgi_request)]
    assert remedy.ticket.state == State.RESOLVED  # applied at once (tasks run in-process)
    assert any(f"“{remedy.ticket.get_state_display()}”" in text for text in flashed), flashed
