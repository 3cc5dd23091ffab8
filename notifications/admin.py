"""Messages (read-only: the outbox and the conversation, with delivery status) and canned replies."""

import string

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from notifications.models import (
    CannedReply,
    InboundEmail,
    Message,
    SatisfactionSurvey,
    macro_transitions,
)
from tickets.admin import ReadOnlyAdmin


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "ticket",
        "direction",
        "channel",
        "event",
        "status",
        "held_reason",
        "error_text",
    ]
    ordering = ["-created_at", "-id"]
    list_filter = ["status", "channel", "direction", "held_reason", "event"]
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
        "held_reason",
        "subject",
        "body",
        "original_email",
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

    @admin.display(description=_("original email"))
    def original_email(self, message):
        inbound = InboundEmail.objects.filter(message=message).only("pk").first()
        if inbound is None:
            return "-"
        url = reverse("admin:notifications_inboundemail_change", args=[inbound.pk])
        return format_html('<a href="{}">{}</a>', url, _("Show the raw message"))


@admin.register(InboundEmail)
class InboundEmailAdmin(ReadOnlyAdmin):
    """Every inbound email as received, read or not: what a shown reply was taken from, and refusals."""

    list_display = ["received_at", "sender", "subject", "state", "size", "message"]
    list_filter = ["state"]
    search_fields = ["sender", "subject", "email_message_id", "message__ticket__reference"]
    date_hierarchy = "received_at"
    fields = [
        "received_at",
        "sender",
        "subject",
        "email_message_id",
        "state",
        "error",
        "attempts",
        "processed_at",
        "message",
        "size",
        "raw_message",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("message__ticket")
        viewing_one = getattr(request.resolver_match, "url_name", "").endswith("_change")
        return queryset if viewing_one else queryset.defer("raw")

    @admin.display(description=_("raw message"))
    def raw_message(self, inbound):
        return format_html(
            '<details><summary>{}</summary><pre style="white-space: pre-wrap">{}</pre></details>',
            _("Show the message exactly as received"),
            inbound.raw_text,
        )


PLACEHOLDERS = {"name", "reference", "quantity", "link"}


class CannedReplyForm(forms.ModelForm):
    """Both texts are required and may use only the placeholders agents' replies fill in."""

    class Meta:
        model = CannedReply
        fields = ["title", "body_id", "body_en", "transition", "active"]
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("— only the reply —"))] + list(macro_transitions().items())
        self.fields["transition"] = forms.ChoiceField(
            label=_("then"),
            choices=choices,
            required=False,
            help_text=_("Optional: the workflow step this reply also takes (a macro)."),
        )

    def clean_body_id(self):
        return self._clean_body("body_id")

    def clean_body_en(self):
        return self._clean_body("body_en")


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    form = CannedReplyForm
    list_display = ["title", "macro", "active", "preview_id", "preview_en"]
    list_filter = ["active"]
    search_fields = ["title", "body_id", "body_en"]

    @admin.display(description=_("then"))
    def macro(self, reply):
        return macro_transitions().get(reply.transition, reply.transition) if reply.transition else "—"

    @admin.display(description=_("Bahasa Indonesia"))
    def preview_id(self, reply):
        return Truncator(reply.body_id).chars(80)

    @admin.display(description=_("English"))
    def preview_en(self, reply):
        return Truncator(reply.body_en).chars(80)


@admin.register(SatisfactionSurvey)
class SatisfactionSurveyAdmin(ReadOnlyAdmin):
    """The applicants' ratings, read-only: written by the survey itself, never typed in."""

    list_display = ["ticket", "agent", "channel", "asked_at", "rating", "comment_preview", "answered_at"]
    list_filter = ["rating", "channel"]
    list_select_related = ["ticket", "agent"]
    search_fields = ["=ticket__reference"]
    date_hierarchy = "asked_at"

    @admin.display(description=_("comment"))
    def comment_preview(self, survey):
        return Truncator(survey.comment).chars(80)
