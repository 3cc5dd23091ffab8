"""Intake over capacity: answered 503 at once with Retry-After, nothing stored, the form's values and
screenshot kept; the console, the health checks and the webhooks are never shed."""

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

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


NGINX_CONF = Path(django_settings.BASE_DIR) / "docs" / "nginx.conf"


def nginx_refusal(language):
    """The body and Retry-After docs/nginx.conf answers with for a report it sheds itself."""
    text = NGINX_CONF.read_text()
    bodies = dict(re.findall(r"^\s*(default|\"~\*\^en\") '(.*)';$", text, re.MULTILINE))
    (retry_after,) = re.findall(r"add_header Retry-After (\d+) always;", text)
    return json.loads(bodies["default" if language == "id" else '"~*^en"']), retry_after


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["id", "en"])
def test_nginx_sheds_with_the_applications_own_answer(client, intake_full, language):
    """nginx's refusal (docs/nginx.conf, limit_conn) must read as the application's, in both languages."""
    response = client.post(URL, stamp_failed(), HTTP_ACCEPT_LANGUAGE=language)
    body, retry_after = nginx_refusal(language)
    assert body == response.json() and retry_after == response["Retry-After"]


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed")
def test_the_documented_nginx_configuration_is_valid(tmp_path):
    site = NGINX_CONF.read_text().replace("listen 443 ssl;", "listen 127.0.0.1:8443;")
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}} "
        f"http {{ access_log off; include {tmp_path}/site.conf; }}"
    )
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
