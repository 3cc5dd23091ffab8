"""The help-desk console: tickets in Django admin."""

from django.contrib import admin

from tickets.models import Ticket, TicketTransition


class TransitionInline(admin.TabularInline):
    model = TicketTransition
    fields = ["created_at", "name", "source", "target", "actor", "actor_kind", "note"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["reference", "state", "category", "full_name", "created_at", "assigned_to"]
    list_filter = ["state", "category", "channel"]
    search_fields = ["reference", "=nik", "email", "=whatsapp", "full_name"]
    readonly_fields = ["reference", "state", "created_at", "state_changed_at"]
    inlines = [TransitionInline]
    list_select_related = ["assigned_to"]
