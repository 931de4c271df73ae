"""Duplicate review in the Django admin: decisions (undoing one restores a retired duplicate),
scans and their groups, read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import DuplicateGroup, DuplicateScan, PairDecision


@admin.register(PairDecision)
class PairDecisionAdmin(admin.ModelAdmin):
    list_display = ["item_a", "item_b", "kind", "keeper", "decided_by", "decided_at"]
    list_filter = ["kind", "decided_at"]
    search_fields = ["item_a__external_id", "item_b__external_id", "note"]
    raw_id_fields = ["item_a", "item_b", "keeper", "decided_by"]
    readonly_fields = ["item_a", "item_b", "kind", "keeper", "decided_by", "decided_at"]
    fields = ["item_a", "item_b", "kind", "keeper", "note", "decided_by", "decided_at"]
    actions = ["undo"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # decisions are recorded on the review page or through the API

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deleting must undo, see `undo`
        return actions

    def delete_model(self, request: HttpRequest, obj: PairDecision) -> None:
        services.undo_decision(obj, user=request.user)

    @admin.action(description=_("Undo the selected decisions"))
    def undo(self, request: HttpRequest, queryset: QuerySet[PairDecision]) -> None:
        count = 0
        for decision in queryset:
            services.undo_decision(decision, user=request.user)
            count += 1
        self.message_user(
            request,
            ngettext("%(n)d decision undone.", "%(n)d decisions undone.", count) % {"n": count},
            messages.SUCCESS,
        )


@admin.register(DuplicateScan)
class DuplicateScanAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "space",
        "status",
        "phase",
        "done",
        "total",
        "pair_count",
        "group_count",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(DuplicateGroup)
class DuplicateGroupAdmin(admin.ModelAdmin):
    list_display = ["id", "scan", "subject", "size", "max_score", "has_exact"]
    list_filter = ["subject", "has_exact"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
