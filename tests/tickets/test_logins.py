"""Brute-force protection of the staff logins (admin and API token), over HTTP.

Failures count per username AND real client address: the address our trusted proxies saw
(TRUSTED_PROXY_COUNT), never what the client writes in X-Forwarded-For.
"""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

LIMIT = 3
RIGHT = "secret-pass-123"


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def admin_login(username, password, **headers):
    client = Client(**headers)
    response = client.post("/admin/login/?next=/admin/", {"username": username, "password": password})
    return response, client


def token_login(username, password, **headers):
    return Client(**headers).post(
        "/api/v1/auth/token/", {"username": username, "password": password}, content_type="application/json"
    )


def logged_in(response, client):
    return response.status_code == 302 and client.get("/admin/").status_code == 200


# --- the admin login ------------------------------------------------------------------------------


def test_admin_login_locks_the_username_after_repeated_failures_even_with_the_right_password(alice):
    for _attempt in range(LIMIT):
        admin_login("alice", "wrong")
    response, client = admin_login("alice", RIGHT)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert not logged_in(response, client)


def test_admin_login_works_again_after_the_cool_off(alice):
    for _attempt in range(LIMIT):
        admin_login("alice", "wrong")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert logged_in(*admin_login("alice", RIGHT))


def test_admin_lockout_of_one_username_leaves_another_username_free(alice, bob):
    for _attempt in range(LIMIT):
        admin_login("alice", "wrong")
    assert logged_in(*admin_login("bob", RIGHT))


def test_admin_lockout_from_one_address_leaves_another_address_free(alice):
    for _attempt in range(LIMIT):
        admin_login("alice", "wrong", REMOTE_ADDR="203.0.113.7")
    assert logged_in(*admin_login("alice", RIGHT, REMOTE_ADDR="198.51.100.9"))


# --- the API token login --------------------------------------------------------------------------


def test_token_login_locks_the_username_after_repeated_failures_even_with_the_right_password(alice):
    for _attempt in range(LIMIT):
        token_login("alice", "wrong")
    response = token_login("alice", RIGHT)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "token" not in response.json() and response.json()["errors"]["non_field_errors"]


def test_rotating_x_forwarded_for_does_not_escape_the_lockout_without_proxies(alice, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    for attempt in range(LIMIT):
        token_login("alice", "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}")
    assert token_login("alice", RIGHT, HTTP_X_FORWARDED_FOR="10.0.0.99").status_code == 429


def test_rotating_x_forwarded_for_does_not_escape_the_lockout_behind_a_proxy(alice, settings):
    # The proxy appends the address it saw (198.51.100.9); whatever the client wrote before it is ignored.
    settings.TRUSTED_PROXY_COUNT = 1
    for attempt in range(LIMIT):
        token_login("alice", "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}, 198.51.100.9")
    assert token_login("alice", RIGHT, HTTP_X_FORWARDED_FOR="10.0.0.99, 198.51.100.9").status_code == 429


def test_behind_a_proxy_another_client_address_is_not_locked(alice, settings):
    # Everyone arrives from the proxy's socket address; only the address the proxy saw tells them apart.
    settings.TRUSTED_PROXY_COUNT = 1
    for _attempt in range(LIMIT):
        token_login("alice", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.9")
    assert token_login("alice", RIGHT, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 200


def test_token_lockout_of_one_username_leaves_another_username_free(alice, bob):
    for _attempt in range(LIMIT):
        token_login("alice", "wrong")
    assert token_login("bob", RIGHT).status_code == 200


def test_a_success_before_the_limit_resets_the_count(alice):
    for _attempt in range(LIMIT - 1):
        token_login("alice", "wrong")
    assert token_login("alice", RIGHT).status_code == 200
    assert token_login("alice", "wrong").status_code == 400
    assert token_login("alice", RIGHT).status_code == 200
