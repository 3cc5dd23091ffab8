"""GET /api/v1/reports/{ref}/, replies, confirm, the token rules, evidence files and the schema."""

import pytest

from notifications.models import Message
from notifications.services import add_note
from tests.factories import ticket_in_state
from tests.tickets.intake_helpers import stamp_failed, upload
from tickets import services
from tickets.models import Evidence, State, Ticket

pytestmark = pytest.mark.usefixtures("applicant_defaults")


@pytest.fixture
def reported(client, run_on_commit):
    body = run_on_commit(client.post, "/api/v1/reports/", stamp_failed()).json()
    return Ticket.objects.get(reference=body["reference"])


def status_url(ticket):
    return f"/api/v1/reports/{ticket.reference}/"


# --- the token rules ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_status_with_token_in_header_or_query(client, reported):
    by_header = client.get(status_url(reported), HTTP_X_TRACKING_TOKEN=reported.tracking_token)
    by_query = client.get(status_url(reported) + f"?token={reported.tracking_token}")
    assert by_header.status_code == by_query.status_code == 200
    body = by_header.json()
    assert body["reference"] == reported.reference
    assert body["state"] == "reported" and body["state_label"] == "Dilaporkan"
    assert body["category"] == "stamp_failed"
    assert [step["state"] for step in body["timeline"]] == ["reported"]
    assert body["remedy"] is None
    assert len(body["evidence"]) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["", "wrong-token", "x"])
def test_wrong_or_missing_token_answers_exactly_like_an_unknown_reference(client, reported, token):
    headers = {"HTTP_X_TRACKING_TOKEN": token} if token else {}
    wrong = client.get(status_url(reported), **headers)
    unknown = client.get("/api/v1/reports/EMT-XXXXXXX/", HTTP_X_TRACKING_TOKEN=reported.tracking_token)
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.content == unknown.content
    for path in ("messages/", "confirm/"):
        assert client.post(status_url(reported) + path, {"body": "hi"}, **headers).status_code == 404
    assert Message.objects.filter(direction="in").count() == 0


@pytest.mark.django_db
def test_token_of_another_ticket_does_not_open_this_one(client, reported):
    other = ticket_in_state(State.IN_REVIEW)
    response = client.get(status_url(reported), HTTP_X_TRACKING_TOKEN=other.tracking_token)
    assert response.status_code == 404


@pytest.mark.django_db
def test_status_shows_public_messages_and_remedy_but_no_internal_note(client, alice):
    ticket = ticket_in_state(State.RESOLVED)
    add_note(ticket=ticket, author=alice, body="INTERNAL: applicant sounds angry")
    Message.objects.create(ticket=ticket, direction="out", channel="whatsapp", body="Kuota sudah dipulihkan")
    body = client.get(status_url(ticket), HTTP_X_TRACKING_TOKEN=ticket.tracking_token).json()
    assert [message["body"] for message in body["messages"]] == ["Kuota sudah dipulihkan"]
    assert "INTERNAL" not in str(body)
    assert body["remedy"]["kind"] == "quota" and body["remedy"]["quantity"] == 2
    assert body["can_confirm"] is True


@pytest.mark.django_db
def test_status_reads_a_fixed_number_of_queries(client, django_assert_max_num_queries, alice):
    ticket = ticket_in_state(State.IN_REVIEW)
    for n in range(10):
        Message.objects.create(ticket=ticket, direction="out", channel="email", body=f"m{n}")
    with django_assert_max_num_queries(6):
        assert client.get(status_url(ticket), HTTP_X_TRACKING_TOKEN=ticket.tracking_token).status_code == 200


# --- replies --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reply_moves_awaiting_info_back_to_review(client, alice):
    ticket = ticket_in_state(State.IN_REVIEW, assigned_to=alice)
    services.fire(
        "request_info", ticket=ticket, actor=alice, message="Kirim tangkapan layar yang lebih jelas."
    )
    response = client.post(
        status_url(ticket) + "messages/",
        {"body": "Ini tangkapan layarnya", "evidence": upload()},
        HTTP_X_TRACKING_TOKEN=ticket.tracking_token,
    )
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "in_review"
    ticket.refresh_from_db()
    assert ticket.state == State.IN_REVIEW
    message = Message.objects.get(direction="in")
    assert (message.channel, message.body, message.status) == ("web", "Ini tangkapan layarnya", "received")
    assert Evidence.objects.get(ticket=ticket).message == message
    assert ticket.transitions.filter(name="info_received", actor_kind="system").exists()


@pytest.mark.django_db
def test_reply_in_another_state_is_stored_without_a_transition(client):
    ticket = ticket_in_state(State.IN_REVIEW)
    response = client.post(
        status_url(ticket) + "messages/",
        {"body": "Ada kabar?"},
        content_type="application/json",
        HTTP_X_TRACKING_TOKEN=ticket.tracking_token,
    )
    assert response.status_code == 201
    assert not ticket.transitions.exists()


@pytest.mark.django_db
def test_empty_reply_is_refused_in_the_applicants_language(client):
    ticket = ticket_in_state(State.IN_REVIEW)
    url = status_url(ticket) + "messages/"
    response = client.post(url, {"body": " "}, HTTP_X_TRACKING_TOKEN=ticket.tracking_token)
    assert response.status_code == 400
    assert response.json()["errors"]["body"] == ["Tulis pesan atau lampirkan tangkapan layar."]
    response = client.post(url, {}, HTTP_X_TRACKING_TOKEN=ticket.tracking_token, HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["errors"]["body"] == ["Write a message or attach a screenshot."]
    assert not Message.objects.filter(direction="in").exists()


@pytest.mark.django_db
def test_reply_with_a_hostile_file_stores_nothing(client, alice):
    ticket = ticket_in_state(State.IN_REVIEW, assigned_to=alice)
    services.fire("request_info", ticket=ticket, actor=alice, message="Kirim bukti.")
    response = client.post(
        status_url(ticket) + "messages/",
        {"body": "bukti", "evidence": upload(b"GIF89a not really", "x.gif")},
        HTTP_X_TRACKING_TOKEN=ticket.tracking_token,
    )
    assert response.status_code == 415
    assert not Message.objects.filter(direction="in").exists()
    assert Ticket.objects.get(pk=ticket.pk).state == State.AWAITING_INFO


# --- confirm --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_applicant_confirms_a_resolved_report(client):
    ticket = ticket_in_state(State.RESOLVED)
    response = client.post(status_url(ticket) + "confirm/", HTTP_X_TRACKING_TOKEN=ticket.tracking_token)
    assert response.status_code == 200
    assert response.json()["state"] == "closed"
    assert ticket.transitions.get().actor_kind == "applicant"


@pytest.mark.django_db
@pytest.mark.parametrize("state", [State.REPORTED, State.IN_REVIEW, State.APPROVED, State.CLOSED])
def test_confirm_from_any_other_state_is_409(client, state):
    ticket = ticket_in_state(state)
    response = client.post(
        status_url(ticket) + "confirm/",
        HTTP_X_TRACKING_TOKEN=ticket.tracking_token,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 409
    assert "Not allowed while the ticket is" in response.json()["errors"]["non_field_errors"][0]
    assert Ticket.objects.get(pk=ticket.pk).state == state


# --- evidence files: only staff and the token's holder ---------------------------------------------


@pytest.mark.django_db
def test_evidence_is_served_to_the_token_holder_only(client, reported):
    item = reported.evidence.get()
    url = f"/status/{reported.reference}/evidence/{item.pk}/"
    full = client.get(url + f"?token={reported.tracking_token}")
    assert full.status_code == 200 and full["Content-Type"] == "image/png"
    assert "private" in full["Cache-Control"] and "no-store" in full["Cache-Control"]
    assert b"".join(full.streaming_content).startswith(b"\x89PNG")
    thumb = client.get(url + f"?token={reported.tracking_token}&thumb=1")
    assert thumb["Content-Type"] == "image/jpeg"
    assert client.get(url + "?token=wrong").status_code == 404
    assert client.get(url).status_code == 404
    other = ticket_in_state(State.IN_REVIEW)
    assert (
        client.get(f"/status/{other.reference}/evidence/{item.pk}/?token={other.tracking_token}").status_code
        == 404
    )


@pytest.mark.django_db
def test_evidence_file_for_staff(client, reported, alice, nobody):
    from django.urls import reverse

    url = reverse("evidence-file", kwargs={"pk": reported.evidence.get().pk})
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(nobody)
    assert client.get(url).status_code == 404
    client.force_login(alice)
    assert client.get(url).status_code == 200
    assert client.get(url + "?thumb=1")["Content-Type"] == "image/jpeg"


@pytest.mark.django_db
def test_media_is_not_served_from_a_public_url(client, reported):
    item = reported.evidence.get()
    assert client.get("/media/" + item.file.name).status_code == 404
    assert client.get("/media-not-public/" + item.file.name).status_code == 404


# --- the schema -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_schema_describes_the_applicant_api_and_docs_work_offline(client, alice):
    client.force_login(alice)  # staff only in production (see tests/test_security_headers.py)
    schema = client.get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/reports/",
        "/api/v1/reports/{reference}/",
        "/api/v1/reports/{reference}/messages/",
        "/api/v1/reports/{reference}/confirm/",
    ):
        assert path in schema["paths"]
    create = schema["paths"]["/api/v1/reports/"]["post"]
    assert {"201", "400", "413", "415", "422", "429"} <= set(create["responses"])
    docs = client.get("/api/docs/").content.decode()
    assert "cdn" not in docs.lower() and "/static/drf_spectacular_sidecar/" in docs


# --- the applicant reopens ------------------------------------------------------------------------


def reopen(client, ticket, body="Kuota saya belum kembali.", token=None):
    return client.post(
        status_url(ticket) + "reopen/",
        {"body": body},
        content_type="application/json",
        HTTP_X_TRACKING_TOKEN=token or ticket.tracking_token,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("state", [State.RESOLVED, State.REJECTED])
def test_applicant_reopens_a_resolved_or_rejected_report_saying_why(client, state):
    ticket = ticket_in_state(state)
    response = reopen(client, ticket)
    assert response.status_code == 200 and response.json()["state"] == State.IN_REVIEW
    message = Message.objects.get(ticket=ticket, direction="in")
    assert message.body == "Kuota saya belum kembali." and message.channel == "web"
    log = ticket.transitions.get(name="reopen")
    assert (log.actor_kind, log.note) == ("applicant", "Kuota saya belum kembali.")


@pytest.mark.django_db
def test_reopening_needs_the_reason_and_changes_nothing_without_it(client):
    ticket = ticket_in_state(State.RESOLVED)
    response = reopen(client, ticket, body="  ")
    assert response.status_code == 400 and "body" in response.json()["errors"]
    ticket.refresh_from_db()
    assert ticket.state == State.RESOLVED and not ticket.messages.exists()


@pytest.mark.django_db
def test_reopening_after_the_window_is_refused_with_a_clear_reason(client, settings):
    settings.REOPEN_WINDOW_DAYS = 0
    ticket = ticket_in_state(State.REJECTED)
    response = reopen(client, ticket, token=ticket.tracking_token)
    assert response.status_code == 409
    assert "laporan baru" in response.json()["errors"]["non_field_errors"][0]
    ticket.refresh_from_db()
    assert ticket.state == State.REJECTED and not ticket.messages.exists()


@pytest.mark.django_db
def test_reopening_an_open_report_is_refused(client):
    ticket = ticket_in_state(State.IN_REVIEW)
    assert reopen(client, ticket).status_code == 409


@pytest.mark.django_db
def test_reopening_with_a_wrong_token_is_not_found(client):
    ticket = ticket_in_state(State.RESOLVED)
    assert reopen(client, ticket, token="wrong").status_code == 404
    ticket.refresh_from_db()
    assert ticket.state == State.RESOLVED


@pytest.mark.django_db
def test_status_page_offers_reopening_and_reopens(client):
    ticket = ticket_in_state(State.RESOLVED)
    page = client.get(f"/status/{ticket.reference}/?token={ticket.tracking_token}")
    assert b'id="reopen"' in page.content
    response = client.post(
        f"/status/{ticket.reference}/reopen/", {"token": ticket.tracking_token, "body": "Belum kembali."}
    )
    assert response.status_code == 302
    assert "Laporan Anda dibuka kembali" in client.get(response["Location"]).content.decode()
    ticket.refresh_from_db()
    assert ticket.state == State.IN_REVIEW
