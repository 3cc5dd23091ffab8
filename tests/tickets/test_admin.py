"""The help-desk console in Django admin: the list, search and filters, the ticket page and its buttons."""

import io
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from notifications.models import CannedReply, Message, MessageChannel, MessageStatus
from refunds.models import RemedyState
from tests.factories import TicketFactory, ticket_in_state
from tickets import services
from tickets.evidence import process_image
from tickets.models import Evidence, State, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("staff_in_english", "remedies_paused")]

LIST = "/admin/tickets/ticket/"


def page_url(ticket):
    return reverse("admin:tickets_ticket_change", args=[ticket.pk])


def button_url(ticket, name):
    return reverse("admin:tickets_ticket_transition", args=[ticket.pk, name])


def texts(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def png(seed=1):
    image = Image.new("RGB", (80, 60), (seed * 40 % 255, 90, 160))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def with_evidence(ticket, seed=1):
    return services.attach_evidence(ticket=ticket, name="riwayat.png", image=process_image(png(seed)))


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def as_sam(client, sam):
    client.force_login(sam)
    return client


# --- the list ---------------------------------------------------------------------------------------


def test_list_shows_badges_masked_nik_and_sla(as_alice):
    ticket = ticket_in_state(State.REPORTED, nik="3171010101900123", full_name="Siti Rahmawati")
    Ticket.objects.filter(pk=ticket.pk).update(state_changed_at=timezone.now() - timedelta(hours=9))
    html = as_alice.get(LIST).content.decode()
    assert ticket.reference in html
    assert "Siti Rahmawati" in html
    assert "3171010101900123" not in html
    assert "3171********0123" in html
    assert 'class="badge"' in html
    assert "sla-breached" in html


def test_list_query_count_does_not_grow_with_rows(as_alice, alice, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    urls = (LIST, LIST + "?assignee=me&sla=breached", LIST + "?q=Siti", LIST + "?created_at__year=2026")

    def counts():
        found = []
        for url in urls:
            with CaptureQueriesContext(connection) as captured:
                assert as_alice.get(url).status_code == 200
            found.append(len(captured))
        return found

    ticket_in_state(State.REPORTED, full_name="Siti Awal")
    few = counts()
    for index in range(40):
        ticket_in_state(
            State.IN_REVIEW if index % 2 else State.REPORTED,
            assigned_to=alice if index % 3 else None,
            possible_duplicate=index % 5 == 0,
            full_name=f"Siti {index}",
        )
    assert counts() == few
    for url in urls:
        with django_assert_max_num_queries(12):
            as_alice.get(url)


def test_list_needs_staff(client, nobody):
    client.force_login(nobody)
    response = client.get(LIST)
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_finance_cannot_open_tickets(client, fin):
    client.force_login(fin)
    assert client.get(LIST).status_code == 403


@pytest.mark.parametrize(
    "term",
    [
        "EMT-{ref}",
        "{ref_lower}",
        "3171010101900777",
        "0812-3456-7890",
        "+62 812 3456 7890",
        "6281234567890",
        "Pelapor.Satu@Example.com",
        "1234567890ABCDEFGHJKLM",
        "siti rah",
    ],
)
def test_search_finds_the_ticket_by_any_exact_key(as_alice, term):
    ticket = ticket_in_state(
        State.REPORTED,
        nik="3171010101900777",
        whatsapp="+6281234567890",
        email="pelapor.satu@example.com",
        full_name="Siti Rahmawati",
        serials=["1234567890ABCDEFGHJKLM"],
    )
    other = ticket_in_state(State.REPORTED, full_name="Budi Santoso")
    term = term.format(ref=ticket.reference.removeprefix("EMT-"), ref_lower=ticket.reference.lower())
    html = as_alice.get(LIST, {"q": term}).content.decode()
    assert ticket.reference in html, term
    assert other.reference not in html, term


def test_a_seven_letter_name_is_not_mistaken_for_a_reference(as_alice):
    ticket = ticket_in_state(State.REPORTED, full_name="Pratama Putra")
    assert ticket.reference in as_alice.get(LIST, {"q": "pratama"}).content.decode()


def test_name_search_is_by_prefix_not_substring(as_alice):
    ticket_in_state(State.REPORTED, full_name="Siti Rahmawati")
    html = as_alice.get(LIST, {"q": "Rahmawati"}).content.decode()
    assert "Siti Rahmawati" not in html


def test_filters_mine_breached_and_duplicate(as_alice, alice, bob):
    mine = ticket_in_state(State.IN_REVIEW, assigned_to=alice)
    theirs = ticket_in_state(State.IN_REVIEW, assigned_to=bob)
    late = ticket_in_state(State.REPORTED)
    Ticket.objects.filter(pk=late.pk).update(state_changed_at=timezone.now() - timedelta(hours=5))
    dup = ticket_in_state(State.REPORTED, possible_duplicate=True)

    html = as_alice.get(LIST, {"assignee": "me"}).content.decode()
    assert mine.reference in html and theirs.reference not in html
    html = as_alice.get(LIST, {"sla": "breached"}).content.decode()
    assert late.reference in html and mine.reference not in html
    html = as_alice.get(LIST, {"dup": "possible"}).content.decode()
    assert dup.reference in html and late.reference not in html


def test_next_ticket_gives_the_oldest_unassigned_reported(as_alice, alice):
    old = ticket_in_state(State.REPORTED, created_at=timezone.now() - timedelta(hours=3))
    ticket_in_state(State.REPORTED)
    response = as_alice.post(reverse("admin:tickets_ticket_next"))
    assert response.status_code == 302 and response["Location"] == page_url(old)
    old.refresh_from_db()
    assert old.state == State.IN_REVIEW and old.assigned_to == alice


def test_next_ticket_with_an_empty_queue_says_so(as_alice):
    response = as_alice.post(reverse("admin:tickets_ticket_next"), follow=True)
    assert any("No unassigned" in text for text in texts(response))


def test_erase_action_on_the_list(as_alice):
    ticket = ticket_in_state(State.CLOSED, nik="3171010101900555")
    response = as_alice.post(
        LIST + "?view=all",
        {"action": "erase_personal_data_action", "_selected_action": [ticket.pk]},
        follow=True,
    )
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.erased_at is not None and ticket.nik == ""


# --- the ticket page --------------------------------------------------------------------------------


def test_ticket_page_for_an_agent_shows_claim_and_data(as_alice, django_assert_max_num_queries):
    ticket = ticket_in_state(State.REPORTED, nik="3171010101900123", serials=["1234567890ABCDEFGHJKLM"])
    with_evidence(ticket)
    with django_assert_max_num_queries(25):
        html = as_alice.get(page_url(ticket)).content.decode()
    assert "3171010101900123" in html  # the ticket page shows NIK in full
    assert button_url(ticket, "start_review") in html
    assert button_url(ticket, "reject") in html
    assert button_url(ticket, "approve") not in html
    assert reverse("evidence-file", args=[ticket.evidence.get().pk]) + "?thumb=1" in html


def test_ticket_page_for_a_supervisor_shows_approve_unless_own(client, sam, sue):
    ticket = ticket_in_state(State.AWAITING_APPROVAL, proposer=sam)
    client.force_login(sue)
    assert button_url(ticket, "approve") in client.get(page_url(ticket)).content.decode()
    client.force_login(sam)
    html = client.get(page_url(ticket)).content.decode()
    assert button_url(ticket, "approve") not in html
    assert button_url(ticket, "send_back") in html


def test_agent_does_not_see_approve(as_alice):
    ticket = ticket_in_state(State.AWAITING_APPROVAL)
    assert button_url(ticket, "approve") not in as_alice.get(page_url(ticket)).content.decode()


def test_thread_in_time_order_with_notes_apart_and_delivery_status(as_alice, alice):
    ticket = ticket_in_state(State.IN_REVIEW)
    now = timezone.now()
    Message.objects.create(
        ticket=ticket,
        direction="in",
        channel="whatsapp",
        body="pesan masuk",
        status=MessageStatus.RECEIVED,
        created_at=now - timedelta(minutes=3),
    )
    Message.objects.create(
        ticket=ticket,
        direction="out",
        channel="whatsapp",
        body="balasan agen",
        status=MessageStatus.DELIVERED,
        created_at=now - timedelta(minutes=2),
    )
    Message.objects.create(
        ticket=ticket,
        direction="out",
        channel="note",
        body="catatan internal",
        author=alice,
        status=MessageStatus.SENT,
        created_at=now - timedelta(minutes=1),
    )
    html = as_alice.get(page_url(ticket)).content.decode()
    assert html.index("pesan masuk") < html.index("balasan agen") < html.index("catatan internal")
    assert 'class="note"' in html and "status-delivered" in html


def test_related_tickets_by_serial_and_hash_with_one_click_duplicate(as_alice):
    original = ticket_in_state(State.IN_REVIEW, serials=["1234567890ABCDEFGHJKLM"])
    same_picture = ticket_in_state(State.REPORTED)
    ticket = ticket_in_state(State.REPORTED, serials=["1234567890ABCDEFGHJKLM"])
    with_evidence(same_picture, seed=3)
    with_evidence(ticket, seed=3)
    html = as_alice.get(page_url(ticket)).content.decode()
    assert original.reference in html and same_picture.reference in html
    response = as_alice.post(button_url(ticket, "mark_duplicate"), {"original": original.reference})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.state == State.DUPLICATE and ticket.duplicate_of == original
    assert ticket.reference in as_alice.get(page_url(original)).content.decode()


# --- buttons: success and refusal -------------------------------------------------------------------


def test_claim_propose_and_approve_through_the_buttons(client, alice, sam):
    ticket = ticket_in_state(State.REPORTED, quota_lost=3)
    client.force_login(alice)
    client.post(button_url(ticket, "start_review"))
    ticket.refresh_from_db()
    assert ticket.state == State.IN_REVIEW and ticket.assigned_to == alice
    client.post(button_url(ticket, "propose_remedy"), {"quantity": "3", "note": "riwayat cocok"})
    ticket.refresh_from_db()
    assert ticket.state == State.AWAITING_APPROVAL
    client.force_login(sam)
    response = client.post(button_url(ticket, "approve"), follow=True)
    ticket.refresh_from_db()
    assert ticket.state == State.APPROVED
    assert ticket.current_remedy.state == RemedyState.APPROVED
    assert any("done" in text for text in texts(response))
    assert ticket.transitions.filter(name="approve", actor=sam).exists()


# Every button from a state that does not allow it: a clear message and nothing changes.
WRONG_STATE = {
    "start_review": State.IN_REVIEW,
    "request_info": State.REPORTED,
    "propose_remedy": State.REPORTED,
    "approve": State.IN_REVIEW,
    "send_back": State.IN_REVIEW,
    "retry_remedy": State.APPROVED,
    "resolve": State.REPORTED,
    "reject": State.RESOLVED,
    "mark_duplicate": State.CLOSED,
    "confirm": State.IN_REVIEW,
    "reopen": State.IN_REVIEW,
}


@pytest.mark.parametrize("name", sorted(WRONG_STATE))
def test_every_button_refuses_in_the_wrong_state(client, sue, name):
    ticket = ticket_in_state(WRONG_STATE[name])
    client.force_login(sue)
    params = {"reason": "x", "message": "x", "quantity": "1", "note": "x", "original": "EMT-2222222"}
    response = client.post(button_url(ticket, name), params, follow=True)
    assert response.status_code == 200
    assert any("Not allowed while the ticket is" in text for text in texts(response)), texts(response)
    ticket.refresh_from_db()
    assert ticket.state == WRONG_STATE[name]
    assert not ticket.transitions.exists()


@pytest.mark.parametrize(
    "name,state",
    [
        ("approve", State.AWAITING_APPROVAL),
        ("send_back", State.AWAITING_APPROVAL),
        ("retry_remedy", State.REMEDY_FAILED),
    ],
)
def test_supervisor_buttons_refuse_an_agent(as_alice, name, state):
    ticket = ticket_in_state(state)
    response = as_alice.post(button_url(ticket, name), {"reason": "x"}, follow=True)
    assert any("not permitted" in text for text in texts(response)), texts(response)
    ticket.refresh_from_db()
    assert ticket.state == state


def test_approving_ones_own_proposal_is_refused(client, sam):
    ticket = ticket_in_state(State.AWAITING_APPROVAL, proposer=sam)
    client.force_login(sam)
    response = client.post(button_url(ticket, "approve"), follow=True)
    assert any("proposed yourself" in text for text in texts(response))
    ticket.refresh_from_db()
    assert ticket.state == State.AWAITING_APPROVAL


@pytest.mark.parametrize(
    "name,state,params,expected",
    [
        ("request_info", State.IN_REVIEW, {"message": "  "}, "Write the message"),
        ("reject", State.IN_REVIEW, {}, "reason for the rejection"),
        ("propose_remedy", State.IN_REVIEW, {"quantity": "0"}, "number of stamps"),
        ("propose_remedy", State.IN_REVIEW, {"quantity": "banyak"}, "number of stamps"),
        ("mark_duplicate", State.IN_REVIEW, {"original": "EMT-2222222"}, "No other ticket"),
        ("mark_duplicate", State.IN_REVIEW, {}, "Name the original"),
        ("resolve", State.IN_REVIEW, {}, "Tell the applicant"),
    ],
)
def test_buttons_refuse_bad_parameters(as_alice, name, state, params, expected):
    ticket = ticket_in_state(state, category="other" if name == "resolve" else "stamp_failed")
    response = as_alice.post(button_url(ticket, name), params, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert any(expected in text for text in texts(response)), texts(response)
    ticket.refresh_from_db()
    assert ticket.state == state
    assert not ticket.remedies.exists()


def test_send_back_needs_a_reason(client, sue):
    ticket = ticket_in_state(State.AWAITING_APPROVAL)
    client.force_login(sue)
    response = client.post(button_url(ticket, "send_back"), {"reason": ""}, follow=True)
    assert any("reason for sending it back" in text for text in texts(response))


def test_system_transitions_are_refused_to_people(as_alice):
    ticket = ticket_in_state(State.AWAITING_INFO)
    response = as_alice.post(button_url(ticket, "close_unanswered"), follow=True)
    assert any("not permitted" in text for text in texts(response))
    ticket.refresh_from_db()
    assert ticket.state == State.AWAITING_INFO


def test_buttons_need_post(as_alice):
    ticket = ticket_in_state(State.REPORTED)
    assert as_alice.get(button_url(ticket, "start_review")).status_code == 405


def test_finance_cannot_press_buttons(client, fin):
    ticket = ticket_in_state(State.REPORTED)
    client.force_login(fin)
    assert client.post(button_url(ticket, "start_review")).status_code == 403
    ticket.refresh_from_db()
    assert ticket.state == State.REPORTED


# --- reply, assignment, evidence, erasure -----------------------------------------------------------


def test_reply_on_whatsapp_goes_to_the_outbox(as_alice):
    ticket = ticket_in_state(State.IN_REVIEW)
    as_alice.post(
        reverse("admin:tickets_ticket_reply", args=[ticket.pk]), {"channel": "whatsapp", "body": "Halo"}
    )
    message = ticket.messages.get(event="agent_reply")
    assert message.channel == MessageChannel.WHATSAPP and "Halo" in message.body
    assert message.to_address == ticket.whatsapp


def test_internal_note_is_not_sent(as_alice):
    ticket = ticket_in_state(State.IN_REVIEW)
    as_alice.post(
        reverse("admin:tickets_ticket_reply", args=[ticket.pk]), {"channel": "note", "body": "cek lagi"}
    )
    note = ticket.messages.get()
    assert note.channel == MessageChannel.NOTE and note.to_address == ""


def test_canned_reply_fills_placeholders_in_the_applicants_language(as_alice):
    ticket = ticket_in_state(State.IN_REVIEW, full_name="Dewi", language="en", quota_lost=4)
    canned = CannedReply.objects.create(
        title="Cek kuota",
        body_id="Halo {name}, {reference}",
        body_en="Hello {name}, {reference}: {quantity} {unknown}",
    )
    as_alice.post(
        reverse("admin:tickets_ticket_reply", args=[ticket.pk]), {"channel": "email", "canned": canned.pk}
    )
    message = ticket.messages.get(event="agent_reply")
    assert f"Hello Dewi, {ticket.reference}: 4 {{unknown}}" in message.body
    assert ticket.reference in as_alice.get(page_url(ticket)).content.decode()


@pytest.mark.parametrize(
    "data,expected",
    [
        ({"channel": "whatsapp", "body": " "}, "write a message"),
        ({"channel": "sms", "body": "x"}, "choose a channel"),
    ],
)
def test_reply_refusals_store_nothing(as_alice, data, expected):
    ticket = ticket_in_state(State.IN_REVIEW)
    response = as_alice.post(reverse("admin:tickets_ticket_reply", args=[ticket.pk]), data, follow=True)
    assert any(expected in text for text in texts(response)), texts(response)
    assert not ticket.messages.exists()


def test_reassign_and_refuse_a_non_agent(as_alice, bob, fin):
    ticket = ticket_in_state(State.IN_REVIEW)
    url = reverse("admin:tickets_ticket_assign", args=[ticket.pk])
    as_alice.post(url, {"assignee": bob.pk})
    ticket.refresh_from_db()
    assert ticket.assigned_to == bob
    response = as_alice.post(url, {"assignee": fin.pk}, follow=True)
    assert any("only be assigned to agents" in text for text in texts(response))
    ticket.refresh_from_db()
    assert ticket.assigned_to == bob


def test_evidence_on_the_ticket_page_is_served_to_staff_only(client, alice, nobody):
    ticket = ticket_in_state(State.REPORTED)
    item = with_evidence(ticket)
    client.force_login(alice)
    html = client.get(page_url(ticket)).content.decode()
    full, thumb = (
        reverse("evidence-file", args=[item.pk]),
        reverse("evidence-file", args=[item.pk]) + "?thumb=1",
    )
    assert f'href="{full}"' in html and f'src="{thumb}"' in html
    response = client.get(full)
    assert response.status_code == 200 and response["Content-Type"] == item.content_type
    assert client.get(thumb)["Content-Type"] == "image/jpeg"
    client.force_login(nobody)
    assert client.get(full).status_code == 404


def test_erase_button_needs_confirmation_then_redacts(as_alice, alice, django_capture_on_commit_callbacks):
    ticket = ticket_in_state(State.CLOSED, nik="3171010101900555", payout_account="081200000000")
    item = with_evidence(ticket)
    storage, name = item.file.storage, item.file.name
    url = reverse("admin:tickets_ticket_erase", args=[ticket.pk])
    response = as_alice.post(url, follow=True)
    assert any("tick the box" in text for text in texts(response))
    ticket.refresh_from_db()
    assert ticket.erased_at is None
    with django_capture_on_commit_callbacks(execute=True):
        as_alice.post(url, {"confirm": "yes"})
    ticket.refresh_from_db()
    assert ticket.erased_at and ticket.nik == "" and ticket.payout_account == "" and ticket.whatsapp == ""
    assert not Evidence.objects.filter(ticket=ticket).exists() and not storage.exists(name)
    assert ticket.transitions.filter(name="erase_personal_data", actor=alice).exists()


def test_ticket_factory_is_searchable_by_whatsapp_typed_with_zero():
    ticket = TicketFactory(whatsapp="+6281299990000")
    from tickets.selectors import search_q

    assert Ticket.objects.filter(search_q("0812 9999 0000")).get() == ticket


# --- canned replies ---------------------------------------------------------------------------------


def test_supervisor_manages_bilingual_canned_replies(client, sam):
    client.force_login(sam)
    url = "/admin/notifications/cannedreply/add/"
    data = {
        "title": "Cek kuota",
        "body_id": "Halo {name}, cek {link}",
        "body_en": "Hello {name}, see {link}",
        "active": "on",
    }
    assert client.post(url, data).status_code == 302
    assert CannedReply.objects.get().body_en == "Hello {name}, see {link}"
    response = client.post(url, {**data, "title": "Lain", "body_en": "Hello {nama}"})
    assert response.status_code == 200 and "Unknown placeholder: {nama}" in response.content.decode()
    assert CannedReply.objects.count() == 1


def test_agents_pick_canned_replies_but_do_not_edit_them(as_alice):
    assert as_alice.get("/admin/notifications/cannedreply/add/").status_code == 403


def test_reply_carries_the_tracking_link(as_alice):
    ticket = ticket_in_state(State.IN_REVIEW)
    as_alice.post(
        reverse("admin:tickets_ticket_reply", args=[ticket.pk]), {"channel": "email", "body": "Halo"}
    )
    assert ticket.tracking_token in ticket.messages.get(event="agent_reply").body


def test_reply_to_a_channel_the_applicant_did_not_give_is_refused(as_alice):
    ticket = ticket_in_state(State.IN_REVIEW, whatsapp="")
    response = as_alice.post(
        reverse("admin:tickets_ticket_reply", args=[ticket.pk]),
        {"channel": "whatsapp", "body": "x"},
        follow=True,
    )
    assert any("choose a channel" in text for text in texts(response)), texts(response)
    assert not ticket.messages.exists()


def test_next_ticket_is_refused_to_finance(client, fin):
    ticket = ticket_in_state(State.REPORTED)
    client.force_login(fin)
    client.post(reverse("admin:tickets_ticket_next"))
    ticket.refresh_from_db()
    assert ticket.state == State.REPORTED and ticket.assigned_to is None


def test_unknown_ticket_page_is_404(as_alice):
    assert as_alice.get(reverse("admin:tickets_ticket_change", args=[999999])).status_code == 404
    assert as_alice.post(button_url(Ticket(pk=999999), "start_review")).status_code == 404


def test_erase_button_on_a_refund_in_flight_records_the_request_and_says_it_waits(as_alice, alice, sam):
    from tests.refunds.helpers import refund_proposal

    ticket = refund_proposal(alice).ticket
    url = reverse("admin:tickets_ticket_erase", args=[ticket.pk])
    response = as_alice.post(url, {"confirm": "yes"}, follow=True)
    assert any("Erasure recorded" in text for text in texts(response))
    ticket.refresh_from_db()
    assert ticket.erased_at is None and ticket.erasure_requested_at is not None
    assert ticket.payout_account == "BCA 1234567890"
