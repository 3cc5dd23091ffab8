"""CSAT: asked once after closing, on the preferred channel; answered by WhatsApp digit or one click;
opting out; the dashboard's figures per week and per agent."""

import pytest
from django.test import Client

from notifications.models import Direction, Message, SatisfactionOptOut, SatisfactionSurvey
from notifications.satisfaction import per_agent, per_week
from tests.doubles.twilio import APPLICANT_WHATSAPP
from tests.factories import ticket_in_state
from tests.notifications.conftest import post_twilio
from tickets import roles, services
from tickets.models import State, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("remedies_paused")]

INBOUND = "/webhooks/twilio/whatsapp/"
NUMBER = APPLICANT_WHATSAPP.removeprefix("whatsapp:")


@pytest.fixture
def remedies_paused(settings):
    settings.REMEDIES_PAUSED = True


def closed(**fields):
    ticket = ticket_in_state(State.RESOLVED, **fields)
    return services.fire("confirm", ticket=ticket, actor=roles.APPLICANT)


def asked(ticket):
    return Message.objects.filter(ticket=ticket, event="csat_request")


def test_closing_asks_once_on_the_preferred_channel(alice):
    ticket = closed(preferred_channel="email", assigned_to=alice)
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    assert (survey.channel, survey.agent) == ("email", alice)
    assert list(asked(ticket).values_list("channel", flat=True)) == ["email"]
    assert f"/rate/{survey.token}/?rating=5" in asked(ticket).get().body


def test_a_ticket_closed_again_is_never_asked_twice():
    ticket = closed()
    Ticket.objects.filter(pk=ticket.pk).update(state=State.RESOLVED)  # as if reopened and resolved again
    services.fire("confirm", ticket=Ticket.objects.get(pk=ticket.pk), actor=roles.APPLICANT)
    assert SatisfactionSurvey.objects.filter(ticket=ticket).count() == 1
    assert asked(ticket).count() == 1


def test_closing_unanswered_asks_too():
    ticket = ticket_in_state(State.AWAITING_INFO)
    services.fire("close_unanswered", ticket=ticket, actor=roles.SYSTEM)
    assert asked(ticket).count() == 1


def test_an_applicant_who_opted_out_is_not_asked():
    SatisfactionOptOut.objects.create(contact=NUMBER)
    ticket = closed(whatsapp=NUMBER)
    assert not SatisfactionSurvey.objects.filter(ticket=ticket).exists() and not asked(ticket).exists()


def test_a_whatsapp_digit_rates_the_closed_ticket_and_opens_nothing(client, twilio_double):
    ticket = closed(whatsapp=NUMBER)
    assert post_twilio(client, twilio_double, INBOUND, twilio_double.inbound_form(" 4 ")).status_code == 200
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    assert survey.rating == 4 and survey.answered_at is not None
    assert Ticket.objects.count() == 1
    assert Message.objects.get(direction=Direction.INBOUND).ticket == ticket
    assert Message.objects.filter(ticket=ticket, event="csat_thanks", channel="whatsapp").count() == 1


def test_a_whatsapp_text_right_after_the_rating_is_its_comment(client, twilio_double):
    ticket = closed(whatsapp=NUMBER)
    post_twilio(client, twilio_double, INBOUND, twilio_double.inbound_form("5"))
    post_twilio(client, twilio_double, INBOUND, twilio_double.inbound_form("Cepat dan ramah"))
    assert SatisfactionSurvey.objects.get(ticket=ticket).comment == "Cepat dan ramah"
    assert Ticket.objects.count() == 1


def test_stop_survei_on_whatsapp_opts_the_number_out(client, twilio_double):
    closed(whatsapp=NUMBER)
    post_twilio(client, twilio_double, INBOUND, twilio_double.inbound_form("STOP SURVEI"))
    assert SatisfactionOptOut.objects.filter(contact=NUMBER).exists()


def test_the_one_click_link_records_the_rating_and_the_page_takes_a_comment():
    ticket = closed(preferred_channel="email")
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    client = Client()
    page = client.get(f"/rate/{survey.token}/?rating=2")
    assert page.status_code == 200 and 'id="csat-thanks"' in page.content.decode()
    survey.refresh_from_db()
    assert survey.rating == 2
    client.post(f"/rate/{survey.token}/", {"rating": "3", "comment": "Lama, tapi beres"})
    survey.refresh_from_db()
    assert (survey.rating, survey.comment) == (3, "Lama, tapi beres")


@pytest.mark.parametrize("rating", ["0", "6", "x", ""])
def test_a_bad_rating_is_refused_and_stores_nothing(rating):
    survey = SatisfactionSurvey.objects.get(ticket=closed())
    answer = Client().post(f"/rate/{survey.token}/", {"rating": rating})
    assert "Pilih nilai dari 1 sampai 5." in answer.content.decode()
    survey.refresh_from_db()
    assert survey.rating is None


def test_an_unknown_survey_token_is_not_found():
    assert Client().get("/rate/nope/?rating=5").status_code == 404


def test_the_opt_out_link_asks_then_opts_out():
    ticket = closed(preferred_channel="email")
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    client = Client()
    assert client.get(f"/rate/{survey.token}/stop/").status_code == 200
    assert not SatisfactionOptOut.objects.exists()
    client.post(f"/rate/{survey.token}/stop/")
    assert SatisfactionOptOut.objects.filter(contact=ticket.email.lower()).exists()


def test_figures_per_week_and_per_agent(alice, bob):
    for agent, rating in ((alice, 5), (alice, 3), (bob, 2)):
        survey = SatisfactionSurvey.objects.get(ticket=closed(assigned_to=agent))
        survey.rating = rating
        survey.answered_at = survey.asked_at
        survey.save()
    weeks = per_week()
    assert sum(answers for _week, answers, _avg in weeks) == 3
    assert per_agent() == [("alice", 2, 4.0), ("bob", 1, 2.0)]


def test_dashboard_shows_csat_with_its_csv(sam, alice, settings):
    settings.DASHBOARD_CACHE_SECONDS = 0
    survey = SatisfactionSurvey.objects.get(ticket=closed(assigned_to=alice))
    survey.rating, survey.answered_at = 4, survey.asked_at
    survey.save()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(sam)
    page = client.get("/admin/dashboard/").content.decode()
    assert 'id="chart-csat-weekly"' in page and 'id="chart-csat-agents"' in page
    csv = client.get("/admin/dashboard/csat-agents.csv").content.decode()
    assert csv.splitlines() == ["Agent,Answers,Average rating (1-5)", "alice,1,4.0"]


def test_closed_status_page_offers_the_one_click_links():
    ticket = closed(preferred_channel="email")
    survey = SatisfactionSurvey.objects.get(ticket=ticket)
    page = Client().get(f"/status/{ticket.reference}/?token={ticket.tracking_token}").content.decode()
    assert f"/rate/{survey.token}/?rating=1" in page and 'id="csat-5"' in page


def test_erasing_personal_data_redacts_the_comment(alice):
    ticket = closed()
    SatisfactionSurvey.objects.filter(ticket=ticket).update(rating=4, comment="Nama saya Siti, 0812...")
    services.erase_personal_data(ticket=ticket, actor=alice, note="permintaan")
    assert "Siti" not in SatisfactionSurvey.objects.get(ticket=ticket).comment


def test_supervisors_read_the_surveys_in_the_admin(sam):
    closed()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(sam)
    assert client.get("/admin/notifications/satisfactionsurvey/").status_code == 200
