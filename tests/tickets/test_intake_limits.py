"""Rate limits per address and per number/NIK, and one ticket for two concurrent requests with one key."""

import threading

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from tests.tickets.intake_helpers import NIK_MAN, NIK_WOMAN, other_json, stamp_failed
from tickets.models import IdempotencyRecord, Ticket

URL = "/api/v1/reports/"


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    settings.LANGUAGE_CODE = "id"  # the product's default (the test settings speak English)
    cache.clear()


def post_json(client, data, address="10.0.0.1", **headers):
    return client.post(URL, data, content_type="application/json", REMOTE_ADDR=address, **headers)


@pytest.mark.django_db
def test_address_over_its_limit_gets_429_with_retry_after(client, settings):
    settings.RATE_LIMIT_REPORTS = "3/100"
    for n in range(3):
        assert post_json(client, other_json(whatsapp=f"0812000000{n:02d}")).status_code == 201
    response = post_json(client, other_json(whatsapp="081200000099"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert "Too many reports" in response.json()["errors"]["non_field_errors"][0]
    assert Ticket.objects.count() == 3
    assert post_json(client, other_json(whatsapp="081200000098"), address="10.0.0.2").status_code == 201


@pytest.mark.django_db
def test_whatsapp_number_over_its_limit_gets_429_from_any_address(client, settings):
    settings.RATE_LIMIT_REPORTS = "100/2"
    for n in range(2):
        assert (
            post_json(client, other_json(nik=[NIK_WOMAN, NIK_MAN][n]), address=f"10.0.1.{n}").status_code
            == 201
        )
    response = post_json(client, other_json(nik="3171010501900009"), address="10.0.1.9")
    assert response.status_code == 429
    assert "Retry-After" in response
    assert Ticket.objects.count() == 2


@pytest.mark.django_db
def test_nik_over_its_limit_gets_429(client, settings):
    settings.RATE_LIMIT_REPORTS = "100/1"
    assert post_json(client, other_json(whatsapp="081211112222")).status_code == 201
    assert post_json(client, other_json(whatsapp="081233334444")).status_code == 429


@pytest.mark.django_db
def test_limits_off_lets_everything_through(client, settings):
    settings.RATE_LIMIT_REPORTS = "off"
    for _ in range(8):
        assert post_json(client, other_json()).status_code == 201


@pytest.mark.django_db
def test_address_behind_a_trusted_proxy_is_the_forwarded_one(client, settings):
    settings.RATE_LIMIT_REPORTS = "1/100"
    settings.TRUSTED_PROXY_COUNT = 1
    assert post_json(client, other_json(), HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 201
    assert post_json(client, other_json(), HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 201
    assert post_json(client, other_json(), HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 429


# --- two requests with one key at the same time (PostgreSQL) ---------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_create_one_ticket(settings):
    settings.RATE_LIMIT_REPORTS = "off"
    barrier = threading.Barrier(2)
    answers = []

    def send():
        client = Client()
        barrier.wait()
        try:
            answers.append(client.post(URL, stamp_failed(), HTTP_IDEMPOTENCY_KEY="same-key"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert Ticket.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1
    ticket = Ticket.objects.get()
    assert ticket.evidence.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_losing_concurrent_request_leaves_no_file_behind(settings, tmp_path):
    settings.RATE_LIMIT_REPORTS = "off"
    barrier = threading.Barrier(4)
    answers = []

    def send():
        client = Client()
        barrier.wait()
        try:
            answers.append(client.post(URL, stamp_failed(), HTTP_IDEMPOTENCY_KEY="busy-key"))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {answer.status_code for answer in answers} == {201}
    assert Ticket.objects.count() == 1
    stored = [path for path in (tmp_path / "media").rglob("*") if path.is_file()]
    assert len(stored) == 2  # the one screenshot and its thumbnail


# --- a database outage: 503 with Retry-After, and the client's retry creates one report --------


@pytest.mark.postgres
def test_report_during_a_database_outage_answers_503_and_the_retry_creates_one_report(
    client, database_outage
):
    key = {"HTTP_IDEMPOTENCY_KEY": "retry-after-outage"}
    with database_outage():
        refused = post_json(client, other_json(), **key)
    assert refused.status_code == 503 and int(refused["Retry-After"]) > 0
    assert refused.json()["errors"]["non_field_errors"]
    retried = post_json(client, other_json(), **key)
    again = post_json(client, other_json(), **key)
    assert retried.status_code == 201 and again.status_code == 201
    assert again.json()["reference"] == retried.json()["reference"]
    assert Ticket.objects.count() == 1 and IdempotencyRecord.objects.count() == 1


@pytest.mark.postgres
def test_a_page_during_a_database_outage_answers_503_not_500(client, database_outage):
    with database_outage():
        response = client.get("/status/EMT-ZZZZZZZ/?token=x")
    assert response.status_code == 503 and "Retry-After" in response
