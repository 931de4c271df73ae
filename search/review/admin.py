"""Expert review in the Django admin: campaigns (admins edit the guidelines, the number of
reviewers per pair, what reviewers see and the status here), their pairs, labels and
adjudications (read-only: labels are given on the review pages)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from .models import Adjudication, Campaign, Label, ReviewPair


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "status", "reviewers_per_pair", "gt_set", "created_by", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "description"]
    fields = [
        "name",
        "description",
        "guidelines",
        "status",
        "reviewers_per_pair",
        "show_model_score",
        "show_gt_label",
        "gt_set",
        "search_config",
        "created_by",
        "created_at",
    ]
    readonly_fields = ["gt_set", "search_config", "created_by", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # campaigns are drawn on /review/new/ or with sample_verification


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ReviewPair)
class ReviewPairAdmin(ReadOnlyAdmin):
    list_display = [
        "campaign",
        "position",
        "query_external_id",
        "candidate_external_id",
        "stratum",
        "similarity",
        "in_ground_truth",
        "applied_label",
    ]
    list_filter = ["campaign", "stratum", "in_ground_truth"]
    search_fields = ["query_external_id", "candidate_external_id"]


@admin.register(Label)
class LabelAdmin(ReadOnlyAdmin):
    list_display = ["pair", "reviewer", "status", "label", "grade", "seconds_spent", "finished_at"]
    list_filter = ["status", "label", "pair__campaign"]
    search_fields = ["reviewer__username", "pair__query_external_id", "note"]


@admin.register(Adjudication)
class AdjudicationAdmin(ReadOnlyAdmin):
    list_display = ["pair", "label", "grade", "decided_by", "decided_at"]
    list_filter = ["label", "pair__campaign"]
