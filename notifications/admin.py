"""Messages (read-only: the outbox and the conversation, with delivery status) and canned replies."""

import string

from django import forms
from django.contrib import admin
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from notifications.models import CannedReply, Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "ticket", "direction", "channel", "event", "status", "error_text"]
    ordering = ["-created_at", "-id"]
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


PLACEHOLDERS = {"name", "reference", "quantity", "link"}


class CannedReplyForm(forms.ModelForm):
    """Both texts are required and may use only the placeholders agents' replies fill in."""

    class Meta:
        model = CannedReply
        fields = ["title", "body_id", "body_en", "active"]
        help_texts = {
            "body_id": _("Placeholders: {name} {reference} {quantity} {link}"),
            "body_en": _("Placeholders: {name} {reference} {quantity} {link}"),
        }

    def _clean_body(self, name):
        text = self.cleaned_data[name]
        try:
            used = {
                field for _literal, field, _spec, _conv in string.Formatter().parse(text) if field is not None
            }
        except ValueError:
            raise forms.ValidationError(_("Unbalanced braces: write placeholders as {name}.")) from None
        unknown = sorted(used - PLACEHOLDERS)
        if unknown:
            raise forms.ValidationError(
                _("Unknown placeholder: %(names)s. Use {name} {reference} {quantity} {link}.")
                % {"names": ", ".join("{" + item + "}" for item in unknown)}
            )
        return text

    def clean_body_id(self):
        return self._clean_body("body_id")

    def clean_body_en(self):
        return self._clean_body("body_en")


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    form = CannedReplyForm
    list_display = ["title", "active", "preview_id", "preview_en"]
    list_filter = ["active"]
    search_fields = ["title", "body_id", "body_en"]

    @admin.display(description=_("Bahasa Indonesia"))
    def preview_id(self, reply):
        return Truncator(reply.body_id).chars(80)

    @admin.display(description=_("English"))
    def preview_en(self, reply):
        return Truncator(reply.body_en).chars(80)
