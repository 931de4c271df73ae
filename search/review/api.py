"""The REST API of expert review, under /api/review/.

Reviewers and admins: the campaigns with their own progress, the next pair to label (claimed
for them), submitting or skipping a label, undoing their last one, their own labels. Admins:
the conflicting pairs, adjudication, agreement figures and label export. Teachers get a 403.
Reviewers never receive other reviewers' labels, nor the model's similarity or the ground-truth
label unless the campaign shows them. Bad input is a 400 naming the field; nothing is written.
"""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from itembank.api import ItemImageSerializer
from itembank.jobs import JobSerializer
from itembank.models import Item

from . import sampling, services
from .models import (
    MAX_GRADE,
    Adjudication,
    Campaign,
    Label,
    LabelValue,
    ReviewPair,
    SamplingJob,
)


class CanLabel(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        return services.can_label(request.user)


class CanAdjudicate(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        return services.can_adjudicate(request.user)


# Serializers ---------------------------------------------------------------------------------


class SamplingJobSerializer(JobSerializer):
    """A campaign's sampling: the fields of every job (itembank.jobs) and its own."""

    name = serializers.CharField(read_only=True)
    campaign = serializers.IntegerField(
        source="campaign_id",
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("The campaign, once the job has created it"),
    )
    pair_count = serializers.IntegerField(read_only=True)


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text=gettext_lazy("Pairs in the campaign"))
    complete = serializers.IntegerField(
        help_text=gettext_lazy("Pairs with as many submitted labels as the campaign asks for")
    )
    submitted = serializers.IntegerField()
    skipped = serializers.IntegerField()
    draft = serializers.IntegerField()
    remaining = serializers.IntegerField(help_text=gettext_lazy("Pairs still open to you"))
    done = serializers.IntegerField()


class CampaignSerializer(serializers.ModelSerializer):
    pair_count = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "description",
            "guidelines",
            "reviewers_per_pair",
            "show_model_score",
            "show_gt_label",
            "status",
            "created_at",
            "pair_count",
            "progress",
        ]
        read_only_fields = fields

    def get_pair_count(self, campaign: Campaign) -> int:
        return campaign.pairs.count()

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, campaign: Campaign) -> dict:
        p = services.progress(campaign, self.context["request"].user)
        return {**p.__dict__, "done": p.done}


class ItemSideSerializer(serializers.ModelSerializer):
    images = ItemImageSerializer(many=True, read_only=True)

    class Meta:
        model = Item
        fields = [
            "id",
            "external_id",
            "subject",
            "school_level",
            "grade",
            "unit",
            "item_type",
            "stem",
            "choices",
            "answer",
            "images",
        ]
        read_only_fields = fields


class MyLabelSerializer(serializers.ModelSerializer):
    pair = serializers.IntegerField(source="pair_id", read_only=True)
    position = serializers.IntegerField(source="pair.position", read_only=True)
    query = serializers.CharField(source="pair.query_external_id", read_only=True)
    candidate = serializers.CharField(source="pair.candidate_external_id", read_only=True)
    label = serializers.ChoiceField(
        choices=LabelValue.choices,
        allow_blank=True,
        read_only=True,
        help_text=gettext_lazy("Blank while a draft or skipped"),
    )
    submitted_at = serializers.DateTimeField(
        source="finished_at",
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("Null while a draft"),
    )

    class Meta:
        model = Label
        fields = [
            "id",
            "pair",
            "position",
            "query",
            "candidate",
            "status",
            "label",
            "grade",
            "note",
            "seconds_spent",
            "created_at",
            "updated_at",
            "submitted_at",
        ]
        read_only_fields = fields


class NextPairSerializer(serializers.Serializer):
    pair = serializers.IntegerField(help_text=gettext_lazy("Send this id with your label"))
    position = serializers.IntegerField()
    query = ItemSideSerializer()
    candidate = ItemSideSerializer()
    similarity = serializers.FloatField(
        allow_null=True,
        required=False,
        help_text=gettext_lazy("Only where the campaign shows the model's score"),
    )
    in_ground_truth = serializers.BooleanField(
        required=False, help_text=gettext_lazy("Only where the campaign shows it")
    )
    mine = MyLabelSerializer(help_text=gettext_lazy("Your draft on this pair"))


def next_pair_data(label: Label, request: Request) -> dict:
    pair = label.pair
    campaign = pair.campaign
    items = Item.objects.prefetch_related("images").in_bulk([pair.query_id, pair.candidate_id])
    ctx = {"request": request}
    data = {
        "pair": pair.pk,
        "position": pair.position,
        "query": ItemSideSerializer(items[pair.query_id], context=ctx).data,
        "candidate": ItemSideSerializer(items[pair.candidate_id], context=ctx).data,
        "mine": MyLabelSerializer(label).data,
    }
    if campaign.show_model_score:
        data["similarity"] = pair.similarity
    if campaign.show_gt_label:
        data["in_ground_truth"] = pair.in_ground_truth
    return data


class LabelInputSerializer(serializers.Serializer):
    pair = serializers.IntegerField(min_value=1, help_text=gettext_lazy("The pair's id"))
    action = serializers.ChoiceField(
        choices=[("submit", "submit"), ("skip", "skip")],
        default="submit",
        help_text=gettext_lazy("submit (the default) or skip"),
    )
    label = serializers.ChoiceField(choices=LabelValue.choices, required=False)
    grade = serializers.IntegerField(
        min_value=0, max_value=MAX_GRADE, required=False, allow_null=True
    )
    note = serializers.CharField(
        max_length=services.MAX_NOTE, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs: dict) -> dict:
        if attrs["action"] == "submit" and not attrs.get("label"):
            raise ValidationError({"label": [_("Pick a label to submit.")]})
        return attrs


class AdjudicationInputSerializer(serializers.Serializer):
    pair = serializers.IntegerField(min_value=1)
    label = serializers.ChoiceField(choices=LabelValue.choices)
    grade = serializers.IntegerField(
        min_value=0, max_value=MAX_GRADE, required=False, allow_null=True
    )
    note = serializers.CharField(
        max_length=services.MAX_NOTE, required=False, allow_blank=True, default=""
    )


class AdjudicationSerializer(serializers.ModelSerializer):
    pair = serializers.IntegerField(source="pair_id", read_only=True)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    expert_ground_truth = serializers.SerializerMethodField()
    message = serializers.SerializerMethodField()

    class Meta:
        model = Adjudication
        fields = [
            "id",
            "pair",
            "label",
            "grade",
            "note",
            "decided_by",
            "decided_at",
            "expert_ground_truth",
            "message",
        ]
        read_only_fields = fields

    def get_expert_ground_truth(self, adjudication: Adjudication) -> str:
        """applied, unchanged, revoked, or deleted (an item is gone; nothing written)"""
        return self.context.get("sync", "")

    def get_message(self, adjudication: Adjudication) -> str:
        if self.context.get("sync") == "deleted":
            return services.deleted_message(adjudication.pair)
        return ""


class ConflictLabelSerializer(serializers.ModelSerializer):
    reviewer = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Label
        fields = ["reviewer", "label", "grade", "note", "seconds_spent", "finished_at"]
        read_only_fields = fields


class ConflictSerializer(serializers.ModelSerializer):
    labels = serializers.SerializerMethodField()
    adjudication = serializers.SerializerMethodField()

    class Meta:
        model = ReviewPair
        fields = [
            "id",
            "position",
            "query_external_id",
            "candidate_external_id",
            "stratum",
            "similarity",
            "in_ground_truth",
            "labels",
            "adjudication",
        ]
        read_only_fields = fields

    @extend_schema_field(ConflictLabelSerializer(many=True))
    def get_labels(self, pair: ReviewPair) -> list[dict]:
        rows = pair.labels.filter(status=Label.Status.SUBMITTED).order_by("reviewer__username")
        return ConflictLabelSerializer(rows, many=True).data

    @extend_schema_field(AdjudicationSerializer(allow_null=True))
    def get_adjudication(self, pair: ReviewPair) -> dict | None:
        adjudication = Adjudication.objects.filter(pair=pair).first()
        return AdjudicationSerializer(adjudication).data if adjudication else None


class SampleLabelSerializer(serializers.Serializer):
    reviewer = serializers.CharField()
    label = serializers.ChoiceField(choices=LabelValue.choices)
    grade = serializers.IntegerField(allow_null=True)
    note = serializers.CharField(allow_blank=True)
    submitted_at = serializers.DateTimeField(allow_null=True)
    seconds_spent = serializers.IntegerField()


class SampleAdjudicationSerializer(serializers.Serializer):
    label = serializers.ChoiceField(choices=LabelValue.choices)
    grade = serializers.IntegerField(allow_null=True)
    note = serializers.CharField(allow_blank=True)
    by = serializers.CharField(allow_null=True)


class SampleSerializer(serializers.Serializer):
    """One entry of the verification samples file (`sampling.export_samples`)."""

    query = serializers.CharField()
    candidate = serializers.CharField()
    stratum = serializers.CharField(allow_blank=True)
    similarity = serializers.FloatField(allow_null=True)
    in_ground_truth = serializers.BooleanField()
    labels = SampleLabelSerializer(many=True)
    rank = serializers.IntegerField(required=False)
    adjudication = SampleAdjudicationSerializer(required=False)


def _campaign(pk: int) -> Campaign:
    return get_object_or_404(Campaign, pk=pk)


def _pair(campaign: Campaign, pair_id: int) -> ReviewPair:
    try:
        return services.pair_in_campaign(campaign, pair_id)
    except services.ReviewError as exc:
        raise ValidationError({"pair": [str(exc)]}) from exc


# Views ---------------------------------------------------------------------------------------


class CampaignList(APIView):
    permission_classes = [CanLabel]

    @extend_schema(
        summary="Review campaigns with your progress", responses=CampaignSerializer(many=True)
    )
    def get(self, request: Request) -> Response:
        campaigns = Campaign.objects.order_by("status", "-created_at", "-pk")
        return Response(CampaignSerializer(campaigns, many=True, context={"request": request}).data)


class NextPair(APIView):
    permission_classes = [CanLabel]

    @extend_schema(
        summary="The next pair for you to label (claimed for you)",
        responses={
            200: NextPairSerializer,
            204: OpenApiResponse(description="Nothing is left for you in this campaign"),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = _campaign(pk)
        label = services.open_pair(campaign, request.user)
        if label is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(next_pair_data(label, request))


class LabelList(APIView):
    permission_classes = [CanLabel]

    @extend_schema(summary="Your labels in this campaign", responses=MyLabelSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        campaign = _campaign(pk)
        return Response(
            MyLabelSerializer(services.my_labels(campaign, request.user), many=True).data
        )

    @extend_schema(
        summary="Submit (or skip) your label on a pair",
        description=(
            "Submitting the same pair again updates your label. Conflicting or out-of-range "
            "values, a pair of another campaign or a closed campaign are a 400."
        ),
        request=LabelInputSerializer,
        responses={200: MyLabelSerializer, 400: OpenApiResponse(description="Bad input")},
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = _campaign(pk)
        data = LabelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        pair = _pair(campaign, values["pair"])
        try:
            if values["action"] == "skip":
                label = services.skip(campaign, pair, request.user)
            else:
                label = services.submit(
                    campaign,
                    pair,
                    request.user,
                    label=values["label"],
                    grade=values.get("grade"),
                    note=values.get("note", ""),
                )
        except services.ReviewError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from exc
        return Response(MyLabelSerializer(label).data)


class Undo(APIView):
    permission_classes = [CanLabel]

    @extend_schema(
        summary="Undo your last submission (it becomes a draft you can change)",
        request=None,
        responses={
            200: MyLabelSerializer,
            404: OpenApiResponse(description="Nothing to undo"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = _campaign(pk)
        try:
            label = services.undo_last(campaign, request.user)
        except services.ReviewError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from exc
        if label is None:
            return Response({"detail": _("There is nothing to undo.")}, status=404)
        return Response(MyLabelSerializer(label).data)


class ConflictList(APIView):
    permission_classes = [CanAdjudicate]

    @extend_schema(
        summary="Pairs whose submitted labels conflict (admins)",
        responses=ConflictSerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        campaign = _campaign(pk)
        return Response(ConflictSerializer(services.conflicts(campaign), many=True).data)


class AdjudicationCreate(APIView):
    permission_classes = [CanAdjudicate]

    @extend_schema(
        summary="Decide the final label of a pair (admins)",
        description=(
            "Replaces an earlier decision. If an item of the pair has been deleted, the decision "
            "is kept, expert_ground_truth is 'deleted' and message says so."
        ),
        request=AdjudicationInputSerializer,
        responses={200: AdjudicationSerializer, 400: OpenApiResponse(description="Bad input")},
    )
    def post(self, request: Request, pk: int) -> Response:
        campaign = _campaign(pk)
        data = AdjudicationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        pair = _pair(campaign, values["pair"])
        try:
            outcome = services.adjudicate(
                campaign,
                pair,
                request.user,
                label=values["label"],
                grade=values.get("grade"),
                note=values.get("note", ""),
            )
        except services.ReviewError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from exc
        return Response(
            AdjudicationSerializer(outcome.adjudication, context={"sync": outcome.sync}).data
        )


class Agreement(APIView):
    permission_classes = [CanAdjudicate]

    @extend_schema(
        summary="Agreement figures of a campaign (admins)",
        description=(
            "Cohen's κ per pair of reviewers, Fleiss' κ over the pairs with the most common "
            "number of raters, Krippendorff's α (nominal); null where undefined."
        ),
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(services.agreement_report(_campaign(pk)))


class Export(APIView):
    permission_classes = [CanAdjudicate]

    def perform_content_negotiation(self, request: Request, force: bool = False):
        # ?format= names the file format here, not a DRF renderer.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="Export the labels (admins)",
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=["jsonl", "csv", "json"],
                description=gettext_lazy(
                    "jsonl or csv: one row per label with reviewer, time and seconds spent; "
                    "json: the verification samples file with its labels"
                ),
            )
        ],
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.STR, description=gettext_lazy("The file in the format asked for")
            ),
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/json"): SampleSerializer(many=True),
            400: OpenApiResponse(
                {
                    "type": "object",
                    "properties": {"format": {"type": "array", "items": {"type": "string"}}},
                    "required": ["format"],
                },
                description=gettext_lazy("An unknown format"),
            ),
        },
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        campaign = _campaign(pk)
        fmt = request.query_params.get("format", "jsonl")
        if fmt == "json":
            body = json.dumps(sampling.export_samples(campaign), ensure_ascii=False)
            content_type = "application/json"
        elif fmt in ("jsonl", "csv"):
            body = services.export_labels(campaign, fmt)
            content_type = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
        else:
            return Response(
                {"format": [_("Export as jsonl, csv or json.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="review-{campaign.pk}-labels.{fmt}"'
        )
        return response


@extend_schema(summary=gettext_lazy("A new campaign's sampling and its progress (administrators)"))
class SamplingJobDetail(generics.RetrieveAPIView):
    serializer_class = SamplingJobSerializer
    permission_classes = [CanAdjudicate]
    queryset = SamplingJob.objects.select_related("created_by")
