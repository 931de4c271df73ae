from django.contrib import admin

from .models import EvaluationRun, GroundTruthSet


@admin.register(GroundTruthSet)
class GroundTruthSetAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "created_by", "created_at", "updated_at")
    list_filter = ("kind",)
    search_fields = ("name", "description")
    readonly_fields = ("provenance", "created_at", "updated_at")


@admin.register(EvaluationRun)
class EvaluationRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "gt_set",
        "space_name",
        "mode",
        "alpha",
        "rerank",
        "k",
        "sweep",
        "status",
        "created_at",
    )
    list_filter = ("status", "mode", "rerank")
    search_fields = ("sweep", "space_name", "gt_set__name")
    readonly_fields = ("metrics", "per_query", "timings", "config")
