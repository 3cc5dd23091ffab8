"""One error envelope for every API (desk.errors), and the schema that documents it and each answer."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.test import RequestFactory
from rest_framework.test import APIClient

from config.middleware import DatabaseUnavailableMiddleware
from desk.applicant import tracking
from tests.factories import ticket_in_state
from tickets.models import State

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.RATE_LIMIT_REPORTS = "off"
    cache.clear()


def api(user=None, **headers):
    client = APIClient(**headers)
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_envelope(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["errors"] and all(
        isinstance(messages, list) and messages and all(isinstance(text, str) for text in messages)
        for messages in body["errors"].values()
    )
    return body


def request_level(body):
    """A refusal that names no field: its sentence is both `detail` and the one non-field error."""
    assert body["errors"] == {"non_field_errors": [body["detail"]]}
    return body["detail"]


# --- the staff API and DRF's own refusals ----------------------------------------------------------


def test_anonymous_and_no_access_are_403_in_the_envelope(nobody):
    request_level(assert_envelope(api().get("/api/v1/tickets/"), 403))
    request_level(assert_envelope(api(nobody).get("/api/v1/tickets/"), 403))


def test_unknown_ticket_and_unknown_transition_are_404(alice):
    request_level(assert_envelope(api(alice).get("/api/v1/tickets/EMT-NOPE/"), 404))
    ticket = ticket_in_state(State.REPORTED)
    response = api(alice).post(f"/api/v1/tickets/{ticket.reference}/transitions/fly/", {}, format="json")
    assert request_level(assert_envelope(response, 404)) == "Unknown transition."


def test_method_and_media_type_refusals_are_in_the_envelope(alice):
    request_level(assert_envelope(api(alice).delete("/api/v1/tickets/"), 405))
    ticket = ticket_in_state(State.REPORTED)
    response = api(alice).post(
        f"/api/v1/tickets/{ticket.reference}/messages/", "hello", content_type="text/plain"
    )
    request_level(assert_envelope(response, 415))


def test_invalid_fields_are_listed_by_field_and_summed_up(alice):
    ticket = ticket_in_state(State.REPORTED)
    body = assert_envelope(api(alice).post(f"/api/v1/tickets/{ticket.reference}/messages/", {}), 400)
    assert set(body["errors"]) == {"channel", "body"}
    assert body["detail"] == "Some fields are not valid: see errors."
    body = assert_envelope(api(alice).get("/api/v1/tickets/", {"state": "bogus"}), 400)
    assert "state" in body["errors"]


def test_workflow_errors_keep_their_status_and_field(alice):
    ticket = ticket_in_state(State.IN_REVIEW, assigned_to=alice)
    url = f"/api/v1/tickets/{ticket.reference}/transitions/"
    refused = assert_envelope(api(alice).post(url + "start_review/", {}, format="json"), 409)
    assert "Not allowed while the ticket is" in request_level(refused)
    missing = assert_envelope(api(alice).post(url + "reject/", {}, format="json"), 400)
    assert missing["errors"] == {"reason": [missing["detail"]]}


def test_bulk_approval_and_export_refuse_bad_requests_in_the_envelope(sam, fin):
    body = assert_envelope(api(sam).post("/api/v1/remedies/approve/", {"ids": []}, format="json"), 400)
    assert "ids" in body["errors"]
    body = assert_envelope(api(fin).get("/api/v1/remedies/export/", {"from": "x", "to": "2026-01-01"}), 400)
    assert set(body["errors"]) == {"from"}


def test_token_login_refusals_are_in_the_envelope(alice, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)
    wrong = {"username": "alice", "password": "wrong"}
    request_level(assert_envelope(api().post("/api/v1/auth/token/", wrong, format="json"), 400))
    api().post("/api/v1/auth/token/", wrong, format="json")
    locked = api().post("/api/v1/auth/token/", wrong, format="json")
    assert "Too many failed logins" in request_level(assert_envelope(locked, 429))
    assert int(locked["Retry-After"]) > 0


def test_database_outage_answers_503_in_the_envelope_with_retry_after():
    middleware = DatabaseUnavailableMiddleware(lambda request: None)
    request = RequestFactory().get("/api/v1/tickets/")
    response = middleware.process_exception(request, OperationalError("connection refused"))
    assert "briefly unavailable" in request_level(assert_envelope(response, 503))
    assert int(response["Retry-After"]) > 0


# --- the applicant API: the contract's {"errors": {...}} in the request's language ----------------


def test_applicant_errors_speak_the_request_language(client):
    body = assert_envelope(client.post("/api/v1/reports/", {}, HTTP_ACCEPT_LANGUAGE="id"), 400)
    assert body["detail"] == "Beberapa isian tidak valid: lihat errors."
    assert "nik" in body["errors"]
    body = assert_envelope(client.post("/api/v1/reports/", {}, HTTP_ACCEPT_LANGUAGE="en"), 400)
    assert body["detail"] == "Some fields are not valid: see errors."


def test_applicant_wrong_token_and_wrong_method_are_in_the_envelope(client):
    ticket = ticket_in_state(State.REPORTED)
    response = client.get(f"/api/v1/reports/{ticket.reference}/", HTTP_X_TRACKING_TOKEN="wrong")
    assert (
        request_level(assert_envelope(response, 404)) == "No report with this reference and tracking token."
    )
    request_level(assert_envelope(client.put("/api/v1/reports/"), 405))


def test_applicant_rate_limit_keeps_retry_after(client, settings):
    settings.RATE_LIMIT_REPORTS = "1/100"
    client.post("/api/v1/reports/", {})
    response = client.post("/api/v1/reports/", {})
    request_level(assert_envelope(response, 429))
    assert int(response["Retry-After"]) > 0


# --- the schema ----------------------------------------------------------------------------------


@pytest.fixture
def schema(client, alice):
    client.force_login(alice)
    return client.get("/api/schema/?format=json").json()


def test_every_error_answer_of_every_operation_is_the_error_envelope(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"detail", "errors"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, answer in operation["responses"].items():
                if int(code) < 400:
                    continue
                assert answer["content"] == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                }, (method, path, code)


def test_report_status_documents_every_key_it_answers(client, schema):
    ticket = ticket_in_state(State.RESOLVED)
    answer = client.get(f"/api/v1/reports/{ticket.reference}/", HTTP_X_TRACKING_TOKEN=ticket.tracking_token)
    documented = schema["components"]["schemas"]["ReportStatus"]
    assert "can_reopen" in documented["properties"] and answer.json()["can_reopen"] is True
    assert set(answer.json()) == set(documented["properties"]) == set(documented["required"])
    assert set(tracking.ticket_status(ticket)) == set(documented["properties"])
