"""Inbound webhooks: Twilio WhatsApp messages and status callbacks, inbound email."""

urlpatterns = []
