"""Every applicant form that refuses shows it in the title ("Galat:"/"Error:"), in an error summary
that links to the problem, and on the input itself, as the report form does."""

import pytest
from django.core.cache import cache

from tests.factories import ticket_in_state
from tickets.models import State

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh():
    cache.clear()


def title(page):
    return page.split("<title>")[1].split("</title>")[0]


def reply(client, ticket, language="id", **data):
    return client.post(
        f"/status/{ticket.reference}/reply/",
        {"token": ticket.tracking_token, **data},
        HTTP_ACCEPT_LANGUAGE=language,
    )


@pytest.mark.parametrize(("language", "prefix"), [("id", "Galat: "), ("en", "Error: ")])
def test_an_empty_reply_on_the_status_page_titles_the_page_as_an_error(client, language, prefix):
    ticket = ticket_in_state(State.IN_REVIEW)
    response = reply(client, ticket, language=language, body="")
    page = response.content.decode()
    assert response.status_code == 400
    assert title(page).startswith(prefix + ticket.reference)


def test_the_reply_error_is_summarised_and_tied_to_the_reply_box(client):
    ticket = ticket_in_state(State.IN_REVIEW)
    page = reply(client, ticket, body="").content.decode()
    summary = page.split('id="summary"')[1].split("</div>")[0]
    assert 'href="#id_body"' in summary
    box = page.split('id="id_body"')[1].split(">")[0]
    assert 'aria-invalid="true"' in box and 'aria-describedby="id_body-error"' in box
    error = page.split('id="id_body-error"')[1].split("</p>")[0]
    assert '<span class="visually-hidden">Galat: </span>' in error


def test_a_refused_confirmation_titles_the_page_as_an_error(client):
    ticket = ticket_in_state(State.IN_REVIEW)  # nothing to confirm yet
    response = client.post(
        f"/status/{ticket.reference}/confirm/", {"token": ticket.tracking_token}, HTTP_ACCEPT_LANGUAGE="id"
    )
    assert response.status_code == 409
    assert title(response.content.decode()).startswith("Galat: ")


def test_the_status_page_without_errors_has_a_plain_title(client):
    ticket = ticket_in_state(State.IN_REVIEW)
    page = client.get(f"/status/{ticket.reference}/?token={ticket.tracking_token}").content.decode()
    assert title(page).startswith(ticket.reference) and 'id="summary"' not in page


@pytest.mark.parametrize(("language", "prefix"), [("id", "Galat: "), ("en", "Error: ")])
def test_a_refused_lost_link_request_titles_the_page_as_an_error(client, language, prefix):
    response = client.post(
        "/status/", {"reference": "EMT-7K3Q9XA", "contact": ""}, HTTP_ACCEPT_LANGUAGE=language
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert title(page).startswith(prefix)
    contact = page.split('id="id_contact"')[1].split(">")[0]
    assert 'aria-invalid="true"' in contact and 'aria-describedby="lost-link-error"' in contact
    reference = page.split('id="id_reference"')[1].split(">")[0]
    assert 'aria-invalid="true"' not in reference


def test_the_lost_link_page_without_errors_has_a_plain_title(client):
    page = client.get("/status/").content.decode()
    assert not title(page).startswith("Galat")
