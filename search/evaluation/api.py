"""The REST API of evaluation: an evaluation run's state (the shape of every job) and, once it
succeeded, its metrics. Reviewers and admins read it, as they read the dashboard."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from itembank.jobs import JobSerializer
from itembank.permissions import can_review

from .models import EvaluationRun


class CanReview(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        return can_review(request.user)


class RunSerializer(JobSerializer):
    """A run: the fields of every job (itembank.jobs) and its own."""

    gt_set = serializers.CharField(source="gt_set.name", read_only=True)
    label = serializers.CharField(read_only=True)
    space_name = serializers.CharField(read_only=True)
    mode = serializers.CharField(read_only=True)
    alpha = serializers.FloatField(read_only=True, allow_null=True)
    rerank = serializers.BooleanField(read_only=True)
    k = serializers.IntegerField(read_only=True)
    sweep = serializers.CharField(read_only=True)
    metrics = serializers.JSONField(
        read_only=True, help_text=gettext_lazy("Empty until the run has succeeded")
    )


@extend_schema(summary=gettext_lazy("An evaluation run and its progress"))
class RunDetail(generics.RetrieveAPIView):
    serializer_class = RunSerializer
    permission_classes = [CanReview]
    queryset = EvaluationRun.objects.select_related("gt_set", "created_by")
