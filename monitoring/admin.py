from django.contrib import admin

from .models import SearchTiming


@admin.register(SearchTiming)
class SearchTimingAdmin(admin.ModelAdmin):
    """Read-only: rows are written by searches and pruned after eight days."""

    list_display = ("created_at", "source", "mode", "milliseconds", "results", "ok", "error")
    list_filter = ("source", "ok", "mode")
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
