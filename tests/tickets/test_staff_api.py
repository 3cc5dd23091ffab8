"""The staff API: token login, list and search, detail, transitions and messages."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from notifications import services as notifications
from notifications.models import Message
from refunds.models import RemedyState
from tests.factories import TicketFactory, ticket_in_state
from tests.refunds.helpers import quota_proposal
from tickets import services
from tickets.models import SerialNumber, State

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.REMEDIES_PAUSED = True
    cache.clear()
    yield
    cache.clear()


def api(user=None):
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


# --- token login -------------------------------------------------------------------------------


def test_staff_user_gets_a_token_that_authenticates(alice):
    response = api().post("/api/v1/auth/token/", {"username": "alice", "password": "secret-pass-123"})
    assert response.status_code == 200
    token = response.json()["token"]
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/tickets/").status_code == 200


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong"), ("ghost", "secret-pass-123"), ("nobody", "secret-pass-123"), ("", "")],
)
def test_wrong_credentials_or_non_staff_get_400(username, password, alice, nobody):
    response = api().post("/api/v1/auth/token/", {"username": username, "password": password})
    assert response.status_code == 400
    assert "token" not in response.json()


def test_successful_logins_are_not_throttled(alice):
    for _ in range(12):
        response = api().post("/api/v1/auth/token/", {"username": "alice", "password": "secret-pass-123"})
        assert response.status_code == 200


# --- who may use it ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["fin", "nobody"])
def test_finance_and_non_staff_may_not_read_tickets(who, request):
    ticket = TicketFactory()
    user = request.getfixturevalue(who)
    assert api(user).get("/api/v1/tickets/").status_code == 403
    assert api(user).get(f"/api/v1/tickets/{ticket.reference}/").status_code == 403


def test_anonymous_is_refused():
    assert api().get("/api/v1/tickets/").status_code in (401, 403)


# --- list, filters and search ------------------------------------------------------------------


def references(response):
    assert response.status_code == 200, response.content
    return {item["reference"] for item in response.json()["results"]}


def test_list_masks_nik_and_paginates(alice):
    ticket = TicketFactory(nik="3171015708900001")
    body = api(alice).get("/api/v1/tickets/").json()
    assert body["count"] == 1
    (item,) = body["results"]
    assert item["reference"] == ticket.reference
    assert item["nik"] == "3171********0001"
    assert item["state_label"]


def test_filters_by_state_category_and_assignee(alice, bob):
    mine = ticket_in_state(State.IN_REVIEW, assigned_to=alice)
    bobs = ticket_in_state(State.IN_REVIEW, assigned_to=bob)
    other = TicketFactory(category="other")
    client = api(alice)
    assert references(client.get("/api/v1/tickets/", {"state": "in_review"})) == {
        mine.reference,
        bobs.reference,
    }
    assert references(client.get("/api/v1/tickets/", {"category": "other"})) == {other.reference}
    assert references(client.get("/api/v1/tickets/", {"assigned": "me"})) == {mine.reference}
    assert references(client.get("/api/v1/tickets/", {"assigned": str(bob.pk)})) == {bobs.reference}
    assert references(client.get("/api/v1/tickets/", {"assigned": "none"})) == {other.reference}


@pytest.mark.parametrize(
    "params", [{"state": "lost"}, {"category": "x"}, {"assigned": "someone"}, {"assigned": "99999"}]
)
def test_bad_filters_are_400(params, alice):
    assert api(alice).get("/api/v1/tickets/", params).status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "REF",
        "ref-lower",
        "siti.aminah@example.com",
        "0812-3456-7890",
        "+62 812 3456 7890",
        "6281234567890",
        "3171015708900001",
        "ABCDEFGHJK1234567890AB",
        "siti ami",
    ],
)
def test_search_finds_a_ticket_by_any_of_its_identifiers(query, alice):
    ticket = TicketFactory(
        full_name="Siti Aminah",
        email="siti.aminah@example.com",
        whatsapp="+6281234567890",
        nik="3171015708900001",
    )
    SerialNumber.objects.create(ticket=ticket, value="ABCDEFGHJK1234567890AB")
    TicketFactory(full_name="Budi Santoso")
    query = {"REF": ticket.reference, "ref-lower": ticket.reference.lower()}.get(query, query)
    assert references(api(alice).get("/api/v1/tickets/", {"q": query})) == {ticket.reference}


def test_search_for_something_unknown_finds_nothing(alice):
    TicketFactory(full_name="Siti Aminah")
    assert references(api(alice).get("/api/v1/tickets/", {"q": "zzz-nothing"})) == set()
    assert references(api(alice).get("/api/v1/tickets/", {"q": "aminah"})) == set()  # names match by prefix


def test_list_query_count_does_not_grow_with_tickets(alice, django_assert_max_num_queries):
    for _ in range(30):
        ticket_in_state(State.IN_REVIEW, assigned_to=alice)
    client = api(alice)
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/tickets/", {"state": "in_review", "assigned": "me"})
    assert response.json()["count"] == 30


# --- detail ------------------------------------------------------------------------------------


def test_detail_shows_everything_an_agent_needs(alice, sam, bob):
    remedy = quota_proposal(alice, quantity=2, nik="3171015708900001")
    ticket = remedy.ticket
    SerialNumber.objects.create(ticket=ticket, value="ABCDEFGHJK1234567890AB")
    notifications.add_note(ticket=ticket, author=alice, body="Cek riwayat sudah.")
    Message.objects.create(
        ticket=ticket,
        direction="out",
        channel="whatsapp",
        body="Halo",
        provider_id="SM123",
        status="delivered",
    )
    body = api(sam).get(f"/api/v1/tickets/{ticket.reference}/").json()
    assert body["nik"] == "3171015708900001"  # opened ticket: unmasked
    assert body["serial_numbers"] == ["ABCDEFGHJK1234567890AB"]
    assert body["remedy"]["id"] == remedy.pk
    assert (body["remedy"]["kind"], body["remedy"]["quantity"], body["remedy"]["state"]) == (
        "quota",
        2,
        "proposed",
    )
    assert (body["remedy"]["proposed_by"], body["remedy"]["approved_by"]) == ("alice", None)
    channels = [(m["channel"], m["body"], m["provider_id"], m["status"]) for m in body["messages"]]
    assert ("note", "Cek riwayat sudah.", "", "sent") in channels
    assert ("whatsapp", "Halo", "SM123", "delivered") in channels
    assert set(body["available_transitions"]) == {"approve", "send_back"}
    assert body["evidence"] == []
    assert (
        "approve"
        not in api(alice).get(f"/api/v1/tickets/{ticket.reference}/").json()["available_transitions"]
    )


def test_detail_query_count_is_bounded(alice, sam, django_assert_max_num_queries):
    remedy = quota_proposal(alice)
    for index in range(10):
        Message.objects.create(
            ticket=remedy.ticket, direction="out", channel="note", body=str(index), author=alice
        )
    with django_assert_max_num_queries(12):
        assert api(sam).get(f"/api/v1/tickets/{remedy.ticket.reference}/").status_code == 200


def test_unknown_reference_is_404(alice):
    assert api(alice).get("/api/v1/tickets/EMT-NOPE999/").status_code == 404


# --- transitions -------------------------------------------------------------------------------


def post_transition(user, ticket, name, **params):
    return api(user).post(f"/api/v1/tickets/{ticket.reference}/transitions/{name}/", params, format="json")


def test_a_transition_answers_200_with_the_ticket(alice):
    ticket = ticket_in_state(State.REPORTED)
    response = post_transition(alice, ticket, "start_review", note="Saya ambil.")
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "in_review"
    assert body["assigned_to"]["username"] == "alice"
    assert body["transitions"][-1]["note"] == "Saya ambil."


def test_propose_with_quantity_creates_the_remedy(alice):
    ticket = ticket_in_state(State.IN_REVIEW)
    response = post_transition(alice, ticket, "propose_remedy", quantity=2)
    assert response.status_code == 200
    assert response.json()["remedy"]["quantity"] == 2
    assert response.json()["remedy"]["proposed_by"] == "alice"


@pytest.mark.parametrize(
    ("name", "state", "params", "field"),
    [
        ("propose_remedy", State.IN_REVIEW, {}, "quantity"),
        ("propose_remedy", State.IN_REVIEW, {"quantity": "dua"}, "quantity"),
        ("propose_remedy", State.IN_REVIEW, {"quantity": 5000}, "quantity"),
        ("reject", State.IN_REVIEW, {}, "reason"),
        ("request_info", State.IN_REVIEW, {"message": "  "}, "message"),
        ("mark_duplicate", State.IN_REVIEW, {"original": "EMT-NOPE999"}, "original"),
    ],
)
def test_missing_or_bad_parameter_is_400_and_changes_nothing(name, state, params, field, alice):
    ticket = ticket_in_state(state)
    response = post_transition(alice, ticket, name, **params)
    assert response.status_code == 400
    assert field in response.json()["errors"]
    ticket.refresh_from_db()
    assert ticket.state == state
    assert not ticket.remedies.exists()


def test_wrong_state_is_409(alice):
    ticket = ticket_in_state(State.CLOSED)
    assert post_transition(alice, ticket, "start_review").status_code == 409


def test_not_permitted_is_403(alice, bob):
    ticket = ticket_in_state(State.AWAITING_APPROVAL, proposer=bob)
    assert post_transition(alice, ticket, "approve").status_code == 403


def test_system_transitions_are_refused_to_people(sam):
    ticket = ticket_in_state(State.APPROVED)
    assert post_transition(sam, ticket, "remedy_applied").status_code == 403
    ticket.refresh_from_db()
    assert ticket.state == State.APPROVED


def test_unknown_transition_is_404(alice):
    assert post_transition(alice, ticket_in_state(State.REPORTED), "teleport").status_code == 404


def test_supervisor_approves_in_the_api(alice, sam):
    remedy = quota_proposal(alice)
    response = post_transition(sam, remedy.ticket, "approve")
    assert response.status_code == 200
    assert response.json()["remedy"]["approved_by"] == "sam"
    remedy.refresh_from_db()
    assert remedy.state == RemedyState.APPROVED


# --- messages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["whatsapp", "email", "note"])
def test_staff_message_is_stored_and_answers_201(channel, alice):
    ticket = ticket_in_state(State.IN_REVIEW)
    response = api(alice).post(
        f"/api/v1/tickets/{ticket.reference}/messages/",
        {"channel": channel, "body": "Mohon tunggu."},
        format="json",
    )
    assert response.status_code == 201, response.content
    message = Message.objects.get(pk=response.json()["id"])
    assert (message.ticket, message.channel, message.author) == (ticket, channel, alice)
    assert "Mohon tunggu." in message.body


@pytest.mark.parametrize(
    "body",
    [{"channel": "sms", "body": "x"}, {"channel": "note", "body": ""}, {"channel": "note"}, {"body": "x"}],
)
def test_bad_staff_message_is_400_and_stores_nothing(body, alice):
    ticket = ticket_in_state(State.IN_REVIEW)
    response = api(alice).post(f"/api/v1/tickets/{ticket.reference}/messages/", body, format="json")
    assert response.status_code == 400
    assert not Message.objects.filter(ticket=ticket).exists()


def test_whatsapp_reply_to_an_applicant_without_number_is_400(alice):
    ticket = ticket_in_state(State.IN_REVIEW, whatsapp="")
    response = api(alice).post(
        f"/api/v1/tickets/{ticket.reference}/messages/",
        {"channel": "whatsapp", "body": "Halo"},
        format="json",
    )
    assert response.status_code == 400
    assert "channel" in response.json()["errors"]


# --- evidence ----------------------------------------------------------------------------------


def with_evidence(ticket, count=1):
    import io

    from PIL import Image

    from tickets.evidence import process_image

    for seed in range(count):
        out = io.BytesIO()
        Image.new("RGB", (80, 60), (seed * 40 % 255, 90, 160)).save(out, "PNG")
        services.attach_evidence(ticket=ticket, name="riwayat.png", image=process_image(out.getvalue()))


def test_detail_links_evidence_that_staff_can_fetch_with_a_token(alice, fin, django_assert_max_num_queries):
    from rest_framework.authtoken.models import Token

    ticket = ticket_in_state(State.IN_REVIEW)
    with_evidence(ticket, count=3)
    client = api(alice)
    with django_assert_max_num_queries(12):
        body = client.get(f"/api/v1/tickets/{ticket.reference}/").json()
    assert len(body["evidence"]) == 3
    item = body["evidence"][0]
    assert item["content_type"] == "image/png" and item["sha256"]
    token_client = APIClient(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=alice).key}")
    image = token_client.get(item["url"])
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image["Cache-Control"] == "private, no-store"
    assert token_client.get(item["thumbnail_url"])["Content-Type"] == "image/jpeg"
    assert api(fin).get(item["url"]).status_code == 403
    assert api().get(item["url"]).status_code in (401, 403)
    other = TicketFactory()
    assert client.get(item["url"].replace(ticket.reference, other.reference)).status_code == 404


def test_propose_a_money_refund_with_an_amount_up_to_what_was_paid(alice):
    fields = dict(
        category="paid_not_credited",
        amount_paid=50_000,
        remedy_preference="money",
        payout_method="ewallet",
        payout_account="081234567890",
        payout_name="Siti",
    )
    too_much = ticket_in_state(State.IN_REVIEW, **fields)
    response = post_transition(alice, too_much, "propose_remedy", amount=60_000)
    assert response.status_code == 400 and "amount" in response.json()["errors"]
    assert post_transition(alice, too_much, "propose_remedy", quantity=2).status_code == 400

    response = post_transition(alice, too_much, "propose_remedy", amount=50_000)
    assert response.status_code == 200
    remedy = response.json()["remedy"]
    assert (remedy["kind"], remedy["amount"], remedy["quantity"]) == ("refund", 50_000, None)
    assert remedy["payout_account"] == "081234567890"  # an opened ticket shows it whole
