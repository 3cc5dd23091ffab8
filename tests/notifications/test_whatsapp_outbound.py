"""Outbound WhatsApp through Twilio, over HTTP against the Twilio double."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from notifications import delivery, services
from notifications.models import Message, MessageStatus
from notifications.provider_errors import describe_error
from notifications.tasks import deliver_message, retry_delay
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def _reply(run_on_commit, alice, ticket, body="Kuota Anda sudah kami cek."):
    return run_on_commit(services.send_reply, ticket=ticket, author=alice, channel="whatsapp", body=body)


def test_reply_inside_window_is_free_text_with_status_callback(twilio_double, run_on_commit, alice, settings):
    ticket = TicketFactory(last_inbound_at=timezone.now() - timedelta(hours=2))
    message = _reply(run_on_commit, alice, ticket)
    sent = twilio_double.messages[0]
    assert sent["to"] == f"whatsapp:{ticket.whatsapp}"
    assert sent["from"] == settings.TWILIO_WHATSAPP_FROM
    assert "Kuota Anda sudah kami cek." in sent["form"]["Body"] and ticket.reference in sent["form"]["Body"]
    assert sent["form"]["StatusCallback"] == (
        f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/status/?message={message.pk}"
    )
    message.refresh_from_db()
    assert (message.status, message.provider_id, message.attempts) == ("sent", sent["sid"], 1)


def test_notification_outside_window_uses_the_configured_template(twilio_double, run_on_commit, settings):
    settings.TWILIO_CONTENT_SIDS = {"info_requested": {"id": "HXid0001", "en": "HXen0001"}}
    ticket = TicketFactory(last_inbound_at=timezone.now() - timedelta(hours=30), language="en", email="")
    run_on_commit(services.notify, ticket=ticket, event="info_requested", message="Send the serial number.")
    form = twilio_double.messages[0]["form"]
    assert form["ContentSid"] == "HXen0001" and "Body" not in form
    variables = json.loads(form["ContentVariables"])
    assert variables["2"] == ticket.reference and variables["4"] == "Send the serial number."
    assert variables["3"].endswith(ticket.tracking_token)


def test_outside_window_without_template_sends_text_and_twilio_decides(twilio_double, run_on_commit, alice):
    ticket = TicketFactory(last_inbound_at=None)
    _reply(run_on_commit, alice, ticket)
    assert "Body" in twilio_double.messages[0]["form"]


@pytest.mark.parametrize("statuses", [(500,), (429,), (500, 429, 503)])
def test_transient_twilio_errors_are_retried_and_sent_once(twilio_double, run_on_commit, alice, statuses):
    twilio_double.fail_next(*statuses)
    message = _reply(run_on_commit, alice, TicketFactory())
    message.refresh_from_db()
    assert len(twilio_double.messages) == 1
    assert message.status == MessageStatus.SENT and message.attempts == len(statuses) + 1
    assert message.provider_id == twilio_double.messages[0]["sid"]


def test_permanent_twilio_error_fails_with_the_code_in_words(twilio_double, run_on_commit, alice):
    twilio_double.fail_next(400)  # 21211 invalid To
    message = _reply(run_on_commit, alice, TicketFactory())
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.attempts == 1
    assert message.error_code == "21211"
    with translation.override("en"):
        assert (
            message.error_text
            == describe_error("21211")
            == "The WhatsApp number is not a valid phone number."
        )


def test_network_error_is_transient(twilio_double, run_on_commit, alice):
    twilio_double.drop_next()
    message = _reply(run_on_commit, alice, TicketFactory())
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.attempts == 2


def test_retries_exhausted_mark_the_message_failed(twilio_double, run_on_commit, alice):
    twilio_double.fail_next(*[503] * (deliver_message.max_retries + 1))
    message = _reply(run_on_commit, alice, TicketFactory())
    message.refresh_from_db()
    assert message.status == MessageStatus.FAILED and message.error_code == "20503"
    assert twilio_double.messages == []


def test_backoff_grows_and_is_capped():
    assert [retry_delay(n) for n in range(4)] == [5, 10, 20, 40]
    assert retry_delay(12) == 600


def test_a_second_task_for_the_same_message_sends_nothing(twilio_double, run_on_commit, alice):
    message = _reply(run_on_commit, alice, TicketFactory())
    assert deliver_message.delay(message.pk).get() == "not-mine"
    assert len(twilio_double.messages) == 1


def test_console_channel_without_twilio_credentials(run_on_commit, alice, capsys):
    ticket = TicketFactory()
    message = _reply(run_on_commit, alice, ticket)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT and message.provider_id == f"console-{message.pk}"
    assert f"WhatsApp to {ticket.whatsapp}" in capsys.readouterr().out


# --- a worker that died after Twilio accepted, before we recorded it --------------------------------


def _stale(message, minutes=30):
    claimed = timezone.now() - timedelta(minutes=minutes)
    Message.objects.filter(pk=message.pk).update(claimed_at=claimed, attempts=1)


def _queued(ticket, alice):
    return services.send_reply(
        ticket=ticket, author=alice, channel="whatsapp", body="Mohon kirim nomor seri."
    )


def test_stale_claim_finds_the_message_twilio_accepted_and_does_not_resend(twilio_double, alice):
    ticket = TicketFactory()
    message = _queued(ticket, alice)
    _stale(message)
    from notifications.channels import WhatsAppChannel

    accepted_sid = WhatsAppChannel().send(Message.objects.get(pk=message.pk))  # the crashed attempt
    assert delivery.deliver(message_id=message.pk) == "found"
    message.refresh_from_db()
    assert (message.status, message.provider_id) == ("sent", accepted_sid)
    assert len(twilio_double.messages) == 1


def test_stale_claim_not_found_at_twilio_is_sent_again_once(twilio_double, alice):
    message = _queued(TicketFactory(), alice)
    _stale(message)
    assert delivery.deliver(message_id=message.pk) == "sent"
    assert delivery.deliver(message_id=message.pk) == "not-mine"
    assert len(twilio_double.messages) == 1


def test_fresh_claim_is_left_to_its_worker(twilio_double, alice):
    message = _queued(TicketFactory(), alice)
    _stale(message, minutes=0)
    assert delivery.deliver(message_id=message.pk) == "not-mine"
    assert twilio_double.messages == []


def test_sweep_requeues_lost_and_stale_messages_only(twilio_double, alice, settings):
    ticket = TicketFactory()
    lost = _queued(ticket, alice)
    stale = _queued(ticket, alice)
    fresh = _queued(ticket, alice)
    old = timezone.now() - timedelta(minutes=15)  # handed to the broker longer ago than the lease
    Message.objects.filter(pk__in=[lost.pk, stale.pk]).update(created_at=old, handed_over_at=old)
    _stale(stale)
    from notifications.tasks import sweep_outbox

    assert delivery.due_for_sweep() == [lost.pk, stale.pk]
    assert sweep_outbox.delay().get() == 2
    assert Message.objects.get(pk=fresh.pk).status == MessageStatus.QUEUED
    assert {m.status for m in Message.objects.filter(pk__in=[lost.pk, stale.pk])} == {MessageStatus.SENT}
    assert len(twilio_double.messages) == 2


def test_template_variables_leave_out_what_the_event_does_not_have(twilio_double, run_on_commit, settings):
    settings.TWILIO_CONTENT_SIDS = {"closed": "HXclosed"}
    ticket = TicketFactory(last_inbound_at=None, email="")
    run_on_commit(services.notify, ticket=ticket, event="closed")
    variables = json.loads(twilio_double.messages[0]["form"]["ContentVariables"])
    assert set(variables) == {"1", "2", "3"}


def test_stale_claim_whose_sid_came_by_status_callback_is_not_resent(twilio_double, alice):
    message = _queued(TicketFactory(), alice)
    _stale(message)
    from notifications.channels import WhatsAppChannel

    sid = WhatsAppChannel().send(Message.objects.get(pk=message.pk))
    Message.objects.filter(pk=message.pk).update(provider_id=sid)  # an early "queued" callback recorded it
    assert delivery.deliver(message_id=message.pk) == "found"
    message.refresh_from_db()
    assert (message.status, message.provider_id) == ("sent", sid) and len(twilio_double.messages) == 1


def test_stale_claim_keeps_its_claim_while_twilio_cannot_be_asked(twilio_double, alice):
    message = _queued(TicketFactory(), alice)
    _stale(message)
    twilio_double.fail_next(503)  # the lookup of Twilio's message list fails once
    deliver_message.delay(message.pk)  # eager: the retry looks again, then sends
    message.refresh_from_db()
    lookups = [r for r in twilio_double.requests if r.method == "GET"]
    assert len(lookups) == 2 and message.status == MessageStatus.SENT and len(twilio_double.messages) == 1
