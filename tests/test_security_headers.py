"""Headers on every answer (CSP, Permissions-Policy), X-Forwarded-Proto trusted only behind our proxies,
and the API's schema and docs kept to staff in production."""

import re

import pytest

from tests.factories import ticket_in_state
from tests.test_settings import run
from tickets.models import State

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket():
    return ticket_in_state(State.IN_REVIEW)


def pages(ticket):
    return [
        "/",
        "/report/",
        "/status/",
        f"/status/{ticket.reference}/?token={ticket.tracking_token}",
        "/admin/login/",
        "/api/v1/reports/EMT-ZZZZZZZ/",
        "/livez",
    ]


def test_every_answer_has_a_content_security_policy_without_inline_script(client, ticket):
    for path in pages(ticket):
        policy = client.get(path)["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["script-src"] == "'self'", path
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


def test_every_answer_has_a_permissions_policy(client, ticket):
    for path in pages(ticket):
        policy = client.get(path)["Permissions-Policy"]
        assert "camera=()" in policy and "geolocation=()" in policy and "microphone=()" in policy, path


def inline_scripts(html):
    return [tag for tag in re.findall(r"<script\b[^>]*>", html) if "src=" not in tag]


def test_applicant_pages_and_the_console_have_no_inline_script(client, ticket, alice):
    for path in pages(ticket)[:4]:
        assert inline_scripts(client.get(path).content.decode()) == [], path
    client.force_login(alice)
    for path in ("/admin/", "/admin/tickets/ticket/", f"/admin/tickets/ticket/{ticket.pk}/change/"):
        response = client.get(path)
        assert response.status_code == 200 and inline_scripts(response.content.decode()) == [], path


# --- the API's schema and docs ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_schema_and_docs_send_anonymous_visitors_to_the_staff_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_schema_and_docs_are_refused_to_a_user_who_is_not_staff(client, nobody, path):
    client.force_login(nobody)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/docs/?script="])
def test_schema_and_docs_are_served_to_staff(client, alice, path):
    client.force_login(alice)
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/"])
def test_api_docs_public_opens_schema_and_docs_to_anyone(client, settings, path):
    settings.API_DOCS_PUBLIC = True
    assert client.get(path).status_code == 200


def test_docs_load_their_script_from_a_url_not_inline(client, alice):
    client.force_login(alice)
    assert inline_scripts(client.get("/api/docs/").content.decode()) == []


# --- X-Forwarded-Proto --------------------------------------------------------------------------------

CLAIMS_HTTPS = """
import django
django.setup()
from django.test import Client
print(Client().get("/", HTTP_X_FORWARDED_PROTO="https").status_code)
"""


@pytest.mark.parametrize(("proxies", "status"), [("0", 301), ("1", 200)])
def test_x_forwarded_proto_is_trusted_only_behind_trusted_proxies(proxies, status):
    # Production settings (HTTPS redirect on): a client that only claims HTTPS is still redirected to it.
    result = run(
        CLAIMS_HTTPS,
        SECRET_KEY="x" * 60,
        TESTING="1",
        SECURE_SSL_REDIRECT="1",
        ALLOWED_HOSTS="testserver",
        TRUSTED_PROXY_COUNT=proxies,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(status)
