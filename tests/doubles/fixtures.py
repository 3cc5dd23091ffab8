"""Pytest plugin: the outside-service doubles, one per test, with Django settings pointing at them."""

import pytest

from tests.doubles.base import DoubleServer
from tests.doubles.providers import PayoutDouble, PlatformDouble
from tests.doubles.smtp import SMTPDouble
from tests.doubles.twilio import WHATSAPP_FROM, TwilioDouble


@pytest.fixture
def http_double():
    """A bare DoubleServer (404 to everything unless scripted) for a quick stand-in."""
    with DoubleServer() as double:
        yield double


@pytest.fixture
def twilio_double(settings):
    """A TwilioDouble, with TWILIO_API_URL, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_FROM."""
    with TwilioDouble() as double:
        settings.TWILIO_API_URL = double.url
        settings.TWILIO_ACCOUNT_SID = double.account_sid
        settings.TWILIO_AUTH_TOKEN = double.auth_token
        settings.TWILIO_WHATSAPP_FROM = WHATSAPP_FROM
        yield double


@pytest.fixture
def platform_double(settings):
    """A PlatformDouble, with QUOTA_GATEWAY='http', QUOTA_PLATFORM_URL and QUOTA_PLATFORM_TOKEN."""
    with PlatformDouble() as double:
        settings.QUOTA_GATEWAY = "http"
        settings.QUOTA_PLATFORM_URL = double.url
        settings.QUOTA_PLATFORM_TOKEN = double.token
        yield double


@pytest.fixture
def payout_double(settings):
    """A PayoutDouble, with PAYOUT_URL and PAYOUT_TOKEN."""
    with PayoutDouble() as double:
        settings.PAYOUT_URL = double.url
        settings.PAYOUT_TOKEN = double.token
        yield double


@pytest.fixture
def smtp_server(settings):
    """An SMTPDouble, with Django's SMTP EmailBackend pointed at it (no TLS, no login)."""
    with SMTPDouble() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = server.host
        settings.EMAIL_PORT = server.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        yield server
