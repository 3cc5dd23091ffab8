"""Inbound webhooks (mounted at /webhooks/): Twilio WhatsApp messages and status callbacks, inbound email."""

from django.urls import path

from notifications import inbound

app_name = "webhooks"

urlpatterns = [
    path("twilio/whatsapp/", inbound.whatsapp_webhook, name="twilio-whatsapp"),
    path("twilio/status/", inbound.status_webhook, name="twilio-status"),
    path("email/", inbound.email_webhook, name="email"),
]
