"""Messages and canned replies in Django admin."""

from django.contrib import admin

from notifications.models import CannedReply, Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "ticket", "direction", "channel", "event", "status"]
    list_filter = ["direction", "channel", "status"]
    list_select_related = ["ticket"]


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "active"]
