"""Inbound webhooks (mounted at /webhooks/): Twilio WhatsApp messages and status callbacks, inbound email."""

from django.urls import path

from notifications import webhooks

app_name = "webhooks"

urlpatterns = [
    path("twilio/whatsapp/", webhooks.whatsapp_webhook, name="twilio-whatsapp"),
    path("twilio/status/", webhooks.status_webhook, name="twilio-status"),
    path("email/", webhooks.email_webhook, name="email"),
]
