"""Intake over capacity: answered 503 at once with Retry-After, nothing stored, the form's values and
screenshot kept; the console, the health checks and the webhooks are never shed."""

import time

import pytest

from notifications.models import Message
from tests.tickets.intake_helpers import stamp_failed
from tests.tickets.report_steps import step, submission_key, walk_to_check
from tickets import capacity
from tickets.models import Evidence, Ticket

pytestmark = pytest.mark.usefixtures("applicant_defaults")

URL = "/api/v1/reports/"


@pytest.fixture
def intake_full(settings):
    """One report in flight, and room for one: every other report finds intake full."""
    settings.INTAKE_MAX_IN_FLIGHT = 1
    with capacity.admission() as admitted:
        assert admitted
        yield


def assert_nothing_stored():
    assert not Ticket.objects.exists() and not Evidence.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db
def test_a_shed_report_stores_nothing_and_says_when_to_retry(client, intake_full):
    response = client.post(URL, stamp_failed())
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["errors"]["non_field_errors"] == [
        "Saat ini terlalu banyak laporan yang masuk. Laporan Anda belum terkirim: "
        "silakan kirim lagi dalam 30 detik."
    ]
    assert_nothing_stored()


@pytest.mark.django_db
def test_the_shed_answer_speaks_the_applicants_language(client, intake_full):
    response = client.post(URL, stamp_failed(), HTTP_ACCEPT_LANGUAGE="en")
    assert "please send it again in 30 seconds" in response.json()["errors"]["non_field_errors"][0]


@pytest.mark.django_db
def test_a_shed_form_keeps_the_values_and_the_screenshot_for_the_next_try(client, settings):
    settings.INTAKE_MAX_IN_FLIGHT = 1
    page = walk_to_check(client).content.decode()
    send = {"consent": "on", "submission_key": submission_key(page)}
    with capacity.admission():
        shed = step(client, "check", send)
    assert shed.status_code == 503 and shed["Retry-After"] == "30"
    html = shed.content.decode()
    assert "Siti Rahmawati" in html and "dalam 30 detik" in html
    assert_nothing_stored()
    sent = step(client, "check", send)
    assert sent.status_code == 302
    assert Ticket.objects.get().evidence.get().original_name == "riwayat.png"


@pytest.mark.django_db
def test_reports_are_shed_while_the_media_workers_are_too_far_behind(client, settings):
    settings.INTAKE_MAX_PENDING_EVIDENCE = 1
    capacity.forget_backlog()
    assert client.post(URL, stamp_failed()).status_code == 201  # its screenshot waits: no worker ran
    capacity.forget_backlog()
    response = client.post(URL, stamp_failed(nik="3273010505850002", whatsapp="081298765432"))
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert Ticket.objects.count() == 1
    capacity.forget_backlog()


@pytest.mark.django_db
def test_a_slot_is_given_back_when_the_report_is_answered(client):
    assert client.post(URL, stamp_failed()).status_code == 201
    assert client.post(URL, {"category": "nonsense"}).status_code == 400
    assert capacity.in_flight() == 0


@pytest.mark.django_db
def test_health_console_and_webhooks_are_never_shed(client, alice, intake_full):
    assert client.get("/healthz").status_code == 200
    assert client.get("/livez").status_code == 200
    assert client.post("/webhooks/twilio/whatsapp/", {"From": "whatsapp:+6281234567890"}).status_code == 403
    client.force_login(alice)
    assert client.get("/admin/tickets/ticket/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("unit", [1, 1000, 1_000_000], ids=["seconds", "milliseconds", "microseconds"])
def test_a_report_that_waited_too_long_in_front_of_us_is_shed(client, settings, unit):
    settings.INTAKE_MAX_QUEUE_MS = 500
    stamp = f"t={int((time.time() - 2) * unit)}"  # the load balancer took it two seconds ago
    response = client.post(URL, stamp_failed(), HTTP_X_REQUEST_START=stamp)
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert_nothing_stored()


@pytest.mark.django_db
def test_a_report_that_did_not_wait_is_admitted(client, settings):
    settings.INTAKE_MAX_QUEUE_MS = 500
    response = client.post(URL, stamp_failed(), HTTP_X_REQUEST_START=f"t={time.time():.3f}")
    assert response.status_code == 201
