"""The search settings in the Django admin: one row, edited in place."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .models import SearchSettings


@admin.register(SearchSettings)
class SearchSettingsAdmin(admin.ModelAdmin):
    fieldsets = [
        (_("Search defaults"), {"fields": ["default_space", "mode", "alpha", "k", "max_k"]}),
        (
            _("Reranking"),
            {
                "fields": [
                    "rerank",
                    "rerank_top_n",
                    "reranker_backend",
                    "reranker_model_path",
                    "reranker_device",
                    "reranker_dtype",
                    "query_timeout",
                ]
            },
        ),
        (
            _("Duplicate checks"),
            {
                "fields": [
                    "duplicate_threshold_default",
                    "duplicate_thresholds",
                    "variant_threshold_default",
                    "variant_thresholds",
                ]
            },
        ),
    ]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # One row: the list is the form.
        settings = SearchSettings.load()
        return HttpResponseRedirect(
            reverse("admin:search_searchsettings_change", args=[settings.pk])
        )
