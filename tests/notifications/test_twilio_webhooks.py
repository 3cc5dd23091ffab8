"""Twilio's webhooks: inbound WhatsApp messages and media, status callbacks, signatures."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from notifications import services
from notifications.models import Direction, Message, MessageStatus
from tests.doubles.twilio import APPLICANT_WHATSAPP
from tests.factories import TicketFactory, ticket_in_state
from tests.notifications.conftest import png_bytes, post_twilio
from tickets.models import Evidence, State, Ticket

pytestmark = pytest.mark.django_db

INBOUND = "/webhooks/twilio/whatsapp/"
STATUS = "/webhooks/twilio/status/"
NUMBER = APPLICANT_WHATSAPP.removeprefix("whatsapp:")


def _inbound(client, double, body="Halo", **kwargs):
    return post_twilio(client, double, INBOUND, double.inbound_form(body, **kwargs))


# --- signatures -----------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", ["", "bm90IGEgc2lnbmF0dXJl"])
def test_bad_or_missing_signature_is_refused_and_nothing_stored(client, twilio_double, signature):
    form = twilio_double.inbound_form("Halo")
    answer = post_twilio(client, twilio_double, INBOUND, form, signature=signature)
    assert answer.status_code == 403
    assert not Message.objects.exists() and not Ticket.objects.exists()


def test_signature_for_another_url_or_altered_form_is_refused(client, twilio_double, settings):
    form = twilio_double.inbound_form("Halo")
    wrong_url = twilio_double.sign("https://evil.example" + INBOUND, form)
    assert post_twilio(client, twilio_double, INBOUND, form, signature=wrong_url).status_code == 403
    signed = twilio_double.sign(settings.PUBLIC_BASE_URL + INBOUND, form)
    assert (
        post_twilio(client, twilio_double, INBOUND, {**form, "Body": "changed"}, signature=signed).status_code
        == 403
    )
    assert not Message.objects.exists()


def test_status_callback_with_bad_signature_changes_nothing(client, twilio_double):
    message = _sent_message(twilio_double)
    form = twilio_double.status_form(message.provider_id, "read")
    assert post_twilio(client, twilio_double, STATUS, form, signature="x").status_code == 403
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_webhooks_refuse_everything_without_twilio_credentials(client, twilio_double, settings):
    form = twilio_double.inbound_form("Halo")
    settings.TWILIO_AUTH_TOKEN = None
    assert post_twilio(client, twilio_double, INBOUND, form).status_code == 403


# --- inbound messages -----------------------------------------------------------------------------


def test_message_joins_the_open_ticket_of_that_number_and_answers_empty_twiml(client, twilio_double):
    ticket = ticket_in_state(State.IN_REVIEW, whatsapp=NUMBER)
    answer = _inbound(client, twilio_double, "Nomor serinya 1A2B3C")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/xml")
    assert answer.content.decode().endswith("<Response></Response>")
    message = Message.objects.get(direction=Direction.INBOUND)
    assert (message.ticket, message.body, message.from_address) == (ticket, "Nomor serinya 1A2B3C", NUMBER)
    ticket.refresh_from_db()
    assert ticket.last_inbound_at is not None


def test_same_message_sid_is_stored_once(client, twilio_double):
    ticket_in_state(State.IN_REVIEW, whatsapp=NUMBER)
    form = twilio_double.inbound_form("Halo")
    assert post_twilio(client, twilio_double, INBOUND, form).status_code == 200
    assert post_twilio(client, twilio_double, INBOUND, form).status_code == 200
    assert Message.objects.filter(direction=Direction.INBOUND).count() == 1


def test_unknown_number_opens_an_other_ticket_when_the_guided_report_is_off(
    client, twilio_double, django_capture_on_commit_callbacks, settings
):
    settings.WHATSAPP_GUIDED_INTAKE = False  # on: tests/notifications/test_guided_whatsapp.py
    ticket_in_state(State.CLOSED, whatsapp=NUMBER)  # a finished ticket is not joined
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(client, twilio_double, "Kuota saya hilang", profile_name="Siti")
    ticket = Ticket.objects.get(state=State.REPORTED)
    assert (ticket.category, ticket.channel, ticket.whatsapp, ticket.full_name) == (
        "other",
        "whatsapp",
        NUMBER,
        "Siti",
    )
    assert ticket.description == "Kuota saya hilang" and ticket.consent_at is not None
    confirmation = ticket.messages.get(direction=Direction.OUTBOUND)
    assert confirmation.event == "report_opened" and ticket.reference in confirmation.body
    assert twilio_double.messages[0]["to"] == APPLICANT_WHATSAPP  # answered on WhatsApp, inside the window
    assert "Body" in twilio_double.messages[0]["form"]


def test_reply_while_awaiting_info_moves_the_ticket_back_to_review(client, twilio_double):
    ticket = ticket_in_state(State.AWAITING_INFO, whatsapp=NUMBER)
    _inbound(client, twilio_double, "Ini datanya")
    ticket.refresh_from_db()
    assert ticket.state == State.IN_REVIEW
    assert ticket.transitions.last().name == "info_received"


def test_media_is_fetched_with_credentials_and_kept_as_evidence(
    client, twilio_double, django_capture_on_commit_callbacks
):
    ticket = ticket_in_state(State.IN_REVIEW, whatsapp=NUMBER)
    image_url = twilio_double.add_media(png_bytes(), "image/png")
    voice_url = twilio_double.add_media(b"OggS", "audio/ogg")
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(client, twilio_double, "", media=[(image_url, "image/png"), (voice_url, "audio/ogg")])
    message = Message.objects.get(direction=Direction.INBOUND)
    evidence = Evidence.objects.get()
    assert (evidence.ticket, evidence.message, evidence.source) == (ticket, message, "whatsapp")
    assert [item["state"] for item in message.media] == ["kept", "skipped"]
    assert not message.media_pending
    fetched = [r for r in twilio_double.requests if r.method == "GET" and "/Media/" in r.path]
    assert fetched[0].basic_auth() == (twilio_double.account_sid, twilio_double.auth_token)


def test_media_that_is_not_a_real_image_is_refused(client, twilio_double, django_capture_on_commit_callbacks):
    ticket_in_state(State.IN_REVIEW, whatsapp=NUMBER)
    url = twilio_double.add_media(b"<html>not a png</html>", "image/png")
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(client, twilio_double, "", media=[(url, "image/png")])
    message = Message.objects.get(direction=Direction.INBOUND)
    assert message.media[0]["state"] == "refused" and not Evidence.objects.exists()


def test_media_download_failing_for_a_while_is_retried_and_kept_once(
    client, twilio_double, django_capture_on_commit_callbacks
):
    ticket_in_state(State.IN_REVIEW, whatsapp=NUMBER)
    url = twilio_double.add_media(png_bytes(), "image/png")
    form = twilio_double.inbound_form("", media=[(url, "image/png")])
    twilio_double.fail_next(503, 500)
    with django_capture_on_commit_callbacks(execute=True):
        post_twilio(client, twilio_double, INBOUND, form)
    assert Evidence.objects.count() == 1
    from notifications.inbound import fetch_pending_media

    fetch_pending_media(message_id=Message.objects.get(direction=Direction.INBOUND).pk)  # a late duplicate
    assert Evidence.objects.count() == 1


# --- status callbacks -----------------------------------------------------------------------------


def _sent_message(double, ticket=None):
    from notifications.delivery import deliver

    ticket = ticket or TicketFactory(whatsapp=NUMBER, last_inbound_at=timezone.now() - timedelta(hours=1))
    message = services.send_reply(ticket=ticket, author=None, channel="whatsapp", body="Halo")
    deliver(message_id=message.pk)
    message.refresh_from_db()
    return message


@pytest.mark.parametrize(
    "order, final",
    [
        (["sent", "delivered", "read"], "read"),
        (["read", "delivered", "sent"], "read"),
        (["delivered", "sent"], "delivered"),
        (["sent", "undelivered"], "failed"),
        (["queued", "sending"], "sent"),
    ],
)
def test_status_callbacks_in_any_order_never_move_backwards(client, twilio_double, order, final):
    message = _sent_message(twilio_double)
    for status in order:
        form = twilio_double.status_form(message.provider_id, status)
        path = f"{STATUS}?message={message.pk}"
        assert post_twilio(client, twilio_double, path, form).status_code == 200
    message.refresh_from_db()
    assert message.status == final


def test_failed_status_records_the_error_code_in_words(client, twilio_double):
    message = _sent_message(twilio_double)
    form = twilio_double.status_form(message.provider_id, "undelivered", error_code=63016)
    post_twilio(client, twilio_double, f"{STATUS}?message={message.pk}", form)
    message.refresh_from_db()
    assert (message.status, message.error_code) == ("failed", "63016")
    with translation.override("en"):
        assert "24-hour" in message.error_text
    with translation.override("id"):
        assert "24 jam" in message.error_text


def test_callback_before_the_worker_recorded_the_sid_records_it(client, twilio_double):
    ticket = TicketFactory(whatsapp=NUMBER)
    message = services.send_reply(ticket=ticket, author=None, channel="whatsapp", body="Halo")
    form = twilio_double.status_form("SM" + "1" * 32, "delivered")
    post_twilio(client, twilio_double, f"{STATUS}?message={message.pk}", form)
    message.refresh_from_db()
    assert (message.provider_id, message.status) == ("SM" + "1" * 32, "delivered")
    from notifications.delivery import record_sent

    record_sent(message_id=message.pk, provider_id="SM" + "1" * 32)  # the worker, late
    message.refresh_from_db()
    assert message.status == "delivered"


def test_callback_for_an_unknown_message_is_acknowledged(client, twilio_double):
    form = twilio_double.status_form("SM" + "2" * 32, "delivered")
    assert post_twilio(client, twilio_double, STATUS, form).status_code == 200


def test_sweep_fetches_media_whose_task_was_lost(client, twilio_double):
    ticket_in_state(State.IN_REVIEW, whatsapp=NUMBER)
    url = twilio_double.add_media(png_bytes(), "image/png")
    _inbound(client, twilio_double, "", media=[(url, "image/png")])  # on_commit never ran: the task is lost
    message = Message.objects.get(direction=Direction.INBOUND)
    assert message.media_pending and not Evidence.objects.exists()
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    from notifications.tasks import sweep_outbox

    sweep_outbox.delay()
    message.refresh_from_db()
    assert not message.media_pending and Evidence.objects.get().message == message


def test_media_gone_at_twilio_is_given_up_without_retrying(
    client, twilio_double, django_capture_on_commit_callbacks
):
    ticket_in_state(State.IN_REVIEW, whatsapp=NUMBER)
    gone = f"{twilio_double.url}{twilio_double.account_path}/Messages/MM{'0' * 32}/Media/ME{'0' * 32}"
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(client, twilio_double, "", media=[(gone, "image/jpeg")])
    message = Message.objects.get(direction=Direction.INBOUND)
    assert message.media[0]["state"] == "failed" and not message.media_pending
    assert len([r for r in twilio_double.requests if "/Media/" in r.path]) == 1


# --- signed but malformed forms -------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"From": "whatsapp:+62" + "8" * 300},
        {"From": "whatsapp:not-a-number"},
        {"From": ""},
        {"Body": "x" * 4097},
        {"MessageSid": "SM" + "1" * 300},
        {"MessageSid": "not-a-sid"},
        {"NumMedia": "11"},
        {"NumMedia": "-1"},
        {"NumMedia": "many"},
        {"NumMedia": "1", "MediaUrl0": "ftp://example.com/x", "MediaContentType0": "image/png"},
    ],
    ids=lambda change: ",".join(f"{key}={value[:20]}" for key, value in change.items()),
)
def test_signed_but_malformed_message_is_refused_with_400_and_nothing_stored(client, twilio_double, change):
    form = {**twilio_double.inbound_form("Halo"), **change}
    answer = post_twilio(client, twilio_double, INBOUND, form)
    assert answer.status_code == 400
    assert not Message.objects.exists() and not Ticket.objects.exists()


@pytest.mark.parametrize("change", [{"MessageSid": "SM" + "1" * 300}, {"ErrorCode": "9" * 300}])
def test_signed_but_malformed_status_callback_is_refused_with_400_and_changes_nothing(
    client, twilio_double, change
):
    message = _sent_message(twilio_double)
    form = {**twilio_double.status_form(message.provider_id, "failed", error_code=63016), **change}
    assert post_twilio(client, twilio_double, STATUS, form).status_code == 400
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
