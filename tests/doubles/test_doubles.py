"""The doubles speak their providers' protocols, over real HTTP and SMTP on loopback."""

import smtplib

import pytest
import requests
from django.conf import settings as django_settings
from django.core import mail
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from notifications.twilio_client import (
    BaseUrlHttpClient,
    MediaFetchError,
    MediaTooLarge,
    fetch_media,
    make_twilio_client,
)
from tests.doubles.base import DoubleServer, Reply
from tests.doubles.twilio import sign

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 200


def client_for(double, **kwargs):
    return make_twilio_client(double.account_sid, double.auth_token, api_url=double.url, **kwargs)


# the base server
def test_base_records_json_and_form_requests(http_double):
    requests.post(f"{http_double.url}/a?x=1", json={"n": 1}, headers={"X-Thing": "yes"}, timeout=5)
    requests.post(f"{http_double.url}/b", data={"k": ["1", "2"], "s": "v"}, timeout=5)
    first, second = http_double.requests
    assert (first.method, first.path, first.query, first.body) == ("POST", "/a", {"x": "1"}, {"n": 1})
    assert first.headers["x-thing"] == "yes"
    assert first.raw == b'{"n": 1}'
    assert second.body == {"k": ["1", "2"], "s": "v"}


def test_base_scripted_replies_come_first_then_normal_behaviour(http_double):
    http_double.fail_next(503, 502)
    http_double.script(Reply(200, {"ok": True}))
    statuses = [requests.get(http_double.url, timeout=5).status_code for _ in range(4)]
    assert statuses == [503, 502, 200, 404]


def test_base_timeout_then_normal_answer(http_double):
    http_double.timeout_next(2)
    with pytest.raises(requests.Timeout):
        requests.get(http_double.url, timeout=0.2)
    assert requests.get(http_double.url, timeout=5).status_code == 404


def test_base_chunked_reply_has_no_content_length(http_double):
    http_double.script(Reply(200, b"x" * 100_000, chunked=True))
    answer = requests.get(http_double.url, timeout=5)
    assert "Content-Length" not in answer.headers and answer.content == b"x" * 100_000


def test_base_drop_closes_without_answer(http_double):
    http_double.drop_next()
    with pytest.raises(requests.ConnectionError):
        requests.get(http_double.url, timeout=5)


def test_base_server_is_a_context_manager():
    with DoubleServer() as double:
        url = double.url
        assert requests.get(url, timeout=5).status_code == 404
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=1)


# Twilio: the real SDK through make_twilio_client
def test_sdk_creates_message_on_double(twilio_double):
    message = client_for(twilio_double).messages.create(
        to="whatsapp:+6281234567890",
        from_="whatsapp:+14155238886",
        body="Laporan Anda diterima",
        status_callback="https://desk.example/webhooks/twilio/status/",
    )
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert (message.status, message.to, message.error_code) == ("queued", "whatsapp:+6281234567890", None)
    assert message.date_created is not None
    request = twilio_double.requests[0]
    assert request.path == f"/2010-04-01/Accounts/{twilio_double.account_sid}/Messages.json"
    assert request.basic_auth() == (twilio_double.account_sid, twilio_double.auth_token)
    assert request.body["StatusCallback"] == "https://desk.example/webhooks/twilio/status/"
    assert twilio_double.messages[0]["sid"] == message.sid


def test_sdk_sends_content_template_and_media(twilio_double):
    client_for(twilio_double).messages.create(
        to="whatsapp:+6281234567890",
        from_="whatsapp:+14155238886",
        content_sid="HX" + "0" * 32,
        content_variables='{"1": "EMT-2024-000123"}',
        media_url=["https://desk.example/a.png", "https://desk.example/b.png"],
    )
    form = twilio_double.messages[0]["form"]
    assert form["ContentSid"] == "HX" + "0" * 32
    assert form["ContentVariables"] == '{"1": "EMT-2024-000123"}'
    assert form["MediaUrl"] == ["https://desk.example/a.png", "https://desk.example/b.png"]
    assert twilio_double.messages[0]["num_media"] == "2"


def test_sdk_wrong_token_is_401_with_twilio_code(twilio_double):
    client = make_twilio_client(twilio_double.account_sid, "wrong", api_url=twilio_double.url)
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(to="whatsapp:+6281234567890", from_="whatsapp:+14155238886", body="x")
    assert (error.value.status, error.value.code) == (401, 20003)
    assert twilio_double.messages == []


def test_sdk_surfaces_scripted_429_as_twilio_rest_exception(twilio_double):
    twilio_double.fail_next(429, 503)
    client = client_for(twilio_double)
    send = {"to": "whatsapp:+6281234567890", "from_": "whatsapp:+14155238886", "body": "x"}
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(**send)
    assert (error.value.status, error.value.code) == (429, 20429)
    assert "Too Many Requests" in error.value.msg
    with pytest.raises(TwilioRestException) as error:
        client.messages.create(**send)
    assert (error.value.status, error.value.code) == (503, 20503)
    assert client.messages.create(**send).status == "queued"
    assert len(twilio_double.messages) == 1


def test_sdk_rejects_message_without_body_like_twilio(twilio_double):
    with pytest.raises(TwilioRestException) as error:
        client_for(twilio_double).messages.create(to="whatsapp:+6281234567890", from_="whatsapp:+1415")
    assert (error.value.status, error.value.code) == (400, 21602)


def test_sdk_timeout_raises_requests_timeout(twilio_double):
    twilio_double.timeout_next(2)
    with pytest.raises(requests.Timeout):
        client_for(twilio_double, timeout=0.2).messages.create(
            to="whatsapp:+6281234567890", from_="whatsapp:+14155238886", body="x"
        )


def test_client_rewrites_only_api_twilio_com():
    http = BaseUrlHttpClient("http://127.0.0.1:9/")
    assert (
        http.rewrite("https://api.twilio.com/2010-04-01/Accounts.json")
        == "http://127.0.0.1:9/2010-04-01/Accounts.json"
    )
    assert http.rewrite("https://api.twilio.com.evil.test/x") == "https://api.twilio.com.evil.test/x"
    assert http.rewrite("https://content.twilio.com/v1/Content") == "https://content.twilio.com/v1/Content"
    assert BaseUrlHttpClient().rewrite("https://api.twilio.com/x") == "https://api.twilio.com/x"


def test_client_settings_come_from_the_fixture(twilio_double):
    assert django_settings.TWILIO_API_URL == twilio_double.url
    assert (
        django_settings.TWILIO_ACCOUNT_SID.startswith("AC") and len(django_settings.TWILIO_ACCOUNT_SID) == 34
    )
    client = make_twilio_client(
        django_settings.TWILIO_ACCOUNT_SID, django_settings.TWILIO_AUTH_TOKEN, django_settings.TWILIO_API_URL
    )
    client.messages.create(to="whatsapp:+6281234567890", from_=django_settings.TWILIO_WHATSAPP_FROM, body="x")
    assert twilio_double.messages[0]["from"] == "whatsapp:+14155238886"


# Twilio media
def test_fetch_media_with_credentials_follows_redirect(twilio_double):
    url = twilio_double.add_media(PNG, "image/png")
    content, content_type = fetch_media(
        url, twilio_double.account_sid, twilio_double.auth_token, max_bytes=10_000
    )
    assert (content, content_type) == (PNG, "image/png")
    assert [r.path.split("/")[1] for r in twilio_double.requests] == ["2010-04-01", "media-store"]


def test_fetch_media_without_credentials_is_refused(twilio_double):
    url = twilio_double.add_media(PNG, "image/png")
    assert requests.get(url, timeout=5).status_code == 401
    with pytest.raises(MediaFetchError) as error:
        fetch_media(url, twilio_double.account_sid, "wrong", max_bytes=10_000)
    assert error.value.status == 401


def test_fetch_media_over_the_limit_is_refused(twilio_double):
    url = twilio_double.add_media(PNG, "image/png")
    with pytest.raises(MediaTooLarge):
        fetch_media(url, twilio_double.account_sid, twilio_double.auth_token, max_bytes=100)


def test_fetch_media_over_the_limit_without_content_length(http_double):
    http_double.script(Reply(200, b"x" * 300_000, {"Content-Type": "image/png"}, chunked=True))
    with pytest.raises(MediaTooLarge):
        fetch_media(http_double.url, "AC", "token", max_bytes=100_000)


# Twilio webhooks
def test_signature_helper_validates_with_request_validator(twilio_double):
    url = "https://desk.example/webhooks/twilio/whatsapp/"
    form = twilio_double.inbound_form("Halo", media=[("https://media/1", "image/jpeg")])
    signature = sign(url, form, twilio_double.auth_token)
    validator = RequestValidator(twilio_double.auth_token)
    assert validator.validate(url, form, signature)
    assert not validator.validate(url, {**form, "Body": "changed"}, signature)
    assert not RequestValidator("other-token").validate(url, form, signature)


def test_inbound_form_looks_like_twilio(twilio_double):
    form = twilio_double.inbound_form("Halo", media=[("https://media/1", "image/jpeg")])
    assert form["From"] == "whatsapp:+6281234567890" and form["WaId"] == "6281234567890"
    assert form["To"] == "whatsapp:+14155238886" and form["AccountSid"] == twilio_double.account_sid
    assert (form["NumMedia"], form["MediaUrl0"], form["MediaContentType0"]) == (
        "1",
        "https://media/1",
        "image/jpeg",
    )
    assert (form["SmsStatus"], form["ApiVersion"]) == ("received", "2010-04-01")
    assert form["MessageSid"][:2] in ("SM", "MM") and len(form["MessageSid"]) == 34


def test_double_posts_signed_status_callback(twilio_double, http_double):
    callback = f"{http_double.url}/webhooks/twilio/status/"
    message = client_for(twilio_double).messages.create(
        to="whatsapp:+6281234567890", from_="whatsapp:+14155238886", body="x", status_callback=callback
    )
    http_double.script(Reply(204))
    assert twilio_double.send_status_callback(message.sid, "failed", error_code=63016).status_code == 204
    request = http_double.requests[0]
    assert request.path == "/webhooks/twilio/status/"
    assert request.body["MessageSid"] == message.sid
    assert (request.body["MessageStatus"], request.body["ErrorCode"]) == ("failed", "63016")
    validator = RequestValidator(twilio_double.auth_token)
    assert validator.validate(callback, request.body, request.headers["X-Twilio-Signature"])


def test_double_signs_for_the_public_url(twilio_double, http_double):
    public = "https://desk.example/webhooks/twilio/whatsapp/"
    form = twilio_double.inbound_form("Halo")
    twilio_double.post_webhook(f"{http_double.url}/webhooks/twilio/whatsapp/", form, signed_url=public)
    request = http_double.requests[0]
    assert RequestValidator(twilio_double.auth_token).validate(
        public, request.body, request.headers["X-Twilio-Signature"]
    )


# the stamping platform and the payout provider
def post(double, path, body, key="key-1", token=None):
    headers = {"Authorization": f"Bearer {token or double.token}"}
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(f"{double.url}{path}", json=body, headers=headers, timeout=5)


ADJUSTMENT = {"account": "pelapor@example.com", "quantity": 3, "reference": "EMT-1"}
PAYOUT = {
    "amount": 10_000,
    "currency": "IDR",
    "method": "bank",
    "account": "014:123",
    "name": "Ani",
    "reference": "EMT-2",
}


def test_platform_applies_a_key_once_and_answers_repeats_with_409(platform_double):
    first = post(platform_double, "/v1/quota-adjustments", ADJUSTMENT)
    assert first.status_code == 201
    assert first.json()["reference"] == "EMT-1" and first.json()["status"] == "applied"
    again = post(platform_double, "/v1/quota-adjustments", ADJUSTMENT)
    assert again.status_code == 409
    assert again.json() == {"error": "already_applied", "id": first.json()["id"]}
    assert platform_double.applications == {"key-1": 1}
    assert platform_double.totals == {"pelapor@example.com": 3}


def test_platform_needs_token_key_and_fields(platform_double, settings):
    assert settings.QUOTA_GATEWAY == "http" and settings.QUOTA_PLATFORM_URL == platform_double.url
    assert post(platform_double, "/v1/quota-adjustments", ADJUSTMENT, token="wrong").status_code == 401
    assert post(platform_double, "/v1/quota-adjustments", ADJUSTMENT, key=None).status_code == 400
    missing = post(platform_double, "/v1/quota-adjustments", {"account": "a", "quantity": 0})
    assert missing.status_code == 400
    assert set(missing.json()["fields"]) == {"quantity", "reference"}
    assert platform_double.applications == {}


def test_platform_scripted_failures_then_success(platform_double):
    platform_double.fail_next(503, 502, 400)
    statuses = [post(platform_double, "/v1/quota-adjustments", ADJUSTMENT).status_code for _ in range(4)]
    assert statuses == [503, 502, 400, 201]
    assert platform_double.applications == {"key-1": 1}


def test_platform_applied_then_500_makes_the_retry_a_409(platform_double):
    platform_double.apply_then_fail(500)
    assert post(platform_double, "/v1/quota-adjustments", ADJUSTMENT).status_code == 500
    assert post(platform_double, "/v1/quota-adjustments", ADJUSTMENT).status_code == 409
    assert platform_double.applications == {"key-1": 1}


def test_payout_applied_then_dropped_makes_the_retry_a_409(payout_double, settings):
    assert settings.PAYOUT_URL == payout_double.url and settings.PAYOUT_TOKEN == payout_double.token
    payout_double.apply_then_drop()
    with pytest.raises(requests.ConnectionError):
        post(payout_double, "/v1/payouts", PAYOUT)
    assert post(payout_double, "/v1/payouts", PAYOUT).status_code == 409
    assert payout_double.applications == {"key-1": 1}
    assert payout_double.totals == {"014:123": 10_000}


def test_payout_validates_currency_and_method(payout_double):
    answer = post(payout_double, "/v1/payouts", {**PAYOUT, "currency": "USD", "method": "cash"})
    assert answer.status_code == 400
    assert set(answer.json()["fields"]) == {"currency", "method"}


def test_payout_key_reused_for_another_body_is_422(payout_double):
    assert post(payout_double, "/v1/payouts", PAYOUT).status_code == 201
    assert post(payout_double, "/v1/payouts", {**PAYOUT, "amount": 99}).status_code == 422
    assert payout_double.totals == {"014:123": 10_000}


# SMTP
def smtp_connection(server):
    return mail.get_connection(
        "django.core.mail.backends.smtp.EmailBackend", host=server.host, port=server.port, use_tls=False
    )


def test_smtp_receives_mail_from_django_backend(smtp_server):
    email = mail.EmailMessage("[EMT-1] Laporan", "Isi", "desk@example.com", ["ani@example.com"])
    assert smtp_connection(smtp_server).send_messages([email]) == 1
    received = smtp_server.messages[0]
    assert (received.mail_from, received.rcpt_tos) == ("desk@example.com", ["ani@example.com"])
    assert received.message["Subject"] == "[EMT-1] Laporan"
    assert received.message.get_content().strip() == "Isi"


def test_smtp_refuses_next_delivery_then_accepts(smtp_server):
    smtp_server.fail_next(1, 451)
    email = mail.EmailMessage("s", "b", "desk@example.com", ["ani@example.com"])
    with pytest.raises(smtplib.SMTPDataError) as error:
        smtp_connection(smtp_server).send_messages([email])
    assert error.value.smtp_code == 451
    assert smtp_connection(smtp_server).send_messages([email]) == 1
    assert len(smtp_server.messages) == 1


def test_smtp_fixture_points_django_settings_at_the_server(smtp_server):
    mail.send_mail("s", "b", "desk@example.com", ["ani@example.com"])
    assert smtp_server.messages[0].rcpt_tos == ["ani@example.com"]
