"""Remedies and the ledger in Django admin."""

from django.contrib import admin

from refunds.models import LedgerEntry, Remedy


@admin.register(Remedy)
class RemedyAdmin(admin.ModelAdmin):
    list_display = ["id", "ticket", "kind", "state", "quantity", "amount", "proposed_by", "approved_by"]
    list_filter = ["state", "kind"]
    list_select_related = ["ticket", "proposed_by", "approved_by"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "remedy", "kind", "quantity", "amount", "gateway", "provider_reference"]
    list_select_related = ["remedy", "remedy__ticket"]
