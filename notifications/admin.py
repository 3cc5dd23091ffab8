"""Messages (read-only: the outbox and the conversation, with delivery status) and canned replies."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from notifications.models import CannedReply, Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "ticket",
        "direction",
        "channel",
        "event",
        "to_address",
        "status",
        "error_text",
    ]
    list_filter = ["status", "channel", "direction", "event"]
    list_select_related = ["ticket"]
    search_fields = ["ticket__reference", "provider_id", "to_address", "from_address"]
    date_hierarchy = "created_at"
    fields = [
        "ticket",
        "direction",
        "channel",
        "event",
        "author",
        "to_address",
        "from_address",
        "subject",
        "body",
        "status",
        "error_code",
        "error_text",
        "error_message",
        "provider_id",
        "in_reply_to",
        "content_sid",
        "content_variables",
        "media",
        "attempts",
        "claimed_at",
        "next_attempt_at",
        "created_at",
        "sent_at",
        "delivered_at",
        "read_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("error"))
    def error_text(self, message):
        return message.error_text

    def has_add_permission(self, request):
        return False  # replies go through the ticket (notifications.services.send_reply)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ["title", "active"]
