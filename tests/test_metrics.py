"""GET /metrics: Prometheus text for operators, never public; request ids in answers and logs."""

import json
import logging

import pytest

from config.observability import JsonFormatter, RequestIdFilter, request_id_var
from tests.tickets.intake_helpers import stamp_failed

TOKEN = "s3cret-metrics-token"


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN


@pytest.mark.django_db
def test_metrics_are_not_public(client, metrics_token):
    response = client.get("/metrics")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert b"emeterai_" not in response.content


@pytest.mark.django_db
def test_metrics_refuse_a_wrong_token_and_a_non_staff_user(client, nobody, metrics_token):
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    client.force_login(nobody)
    assert client.get("/metrics").status_code == 403


@pytest.mark.django_db
def test_metrics_need_a_token_when_none_is_configured(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.django_db
def test_metrics_with_the_token_show_the_backlog_and_requests(client, metrics_token, settings):
    settings.RATE_LIMIT_REPORTS = "off"
    assert client.post("/api/v1/reports/", stamp_failed()).status_code == 201  # its screenshot waits
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()
    assert "emeterai_reports_last_minute 1.0" in text
    assert "emeterai_evidence_pending 1.0" in text
    assert "emeterai_outbox_depth 2.0" in text  # the confirmation, on WhatsApp and by email
    assert 'emeterai_remedies{state="applied"} 0.0' in text
    assert (
        'emeterai_http_request_duration_seconds_count{method="POST",route="/api/v1/reports/",status="2xx"}'
        in text
    )


@pytest.mark.django_db
def test_metrics_for_staff_in_the_console(client, alice):
    client.force_login(alice)
    assert client.get("/metrics").status_code == 200


def test_request_id_is_honoured_and_returned(client):
    assert client.get("/livez", HTTP_X_REQUEST_ID="lb-1234")["X-Request-ID"] == "lb-1234"


def test_a_request_id_that_is_not_sane_is_replaced(client):
    returned = client.get("/livez", HTTP_X_REQUEST_ID="bad id\nwith newline")["X-Request-ID"]
    assert returned and "\n" not in returned and " " not in returned


def test_json_log_lines_carry_the_request_id():
    record = logging.LogRecord("tickets", logging.INFO, __file__, 1, "stored %s", ("EMT-1",), None)
    token = request_id_var.set("req-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["request_id"] == "req-42" and entry["message"] == "stored EMT-1"


@pytest.mark.django_db
def test_the_grafana_dashboard_uses_only_metrics_the_endpoint_serves(client, alice):
    import re
    from pathlib import Path

    dashboard = json.loads(
        (Path(__file__).resolve().parents[1] / "docs" / "grafana-dashboard.json").read_text()
    )
    used = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"emeterai_\w+", target["expr"])
    }
    client.force_login(alice)
    client.get("/livez")  # one observation, so the histogram's series exist
    served = client.get("/metrics").content.decode()
    broker_only = {"emeterai_celery_queue_length"}  # served only with a Redis broker
    missing = [name for name in used - broker_only if not re.search(rf"^{name}[{{ ]", served, re.MULTILINE)]
    assert missing == []


@pytest.mark.integration
@pytest.mark.django_db
def test_celery_queue_lengths_are_read_from_a_redis_broker(client, alice, settings):
    import os

    import redis

    settings.CELERY_BROKER_URL = os.environ["CELERY_INTEGRATION_BROKER"]
    settings.CELERY_TASK_ALWAYS_EAGER = False
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("media")
    broker.rpush("media", "a", "b", "c")
    try:
        client.force_login(alice)
        text = client.get("/metrics").content.decode()
    finally:
        broker.delete("media")
    assert 'emeterai_celery_queue_length{queue="media"} 3.0' in text
