"""The REST API of duplicate review: groups of the latest scan, verdicts on pairs, scans.

Reviewers and admins read; teachers get a 403. Verdicts follow `services.can_decide` (a
"duplicate" retires an item, so it is an admin's call) and only admins change or undo a recorded
verdict or start a scan. Bad input is a 400 naming the field; nothing is written.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from itembank.api import ItemPagination
from itembank.jobs import JobSerializer
from itembank.models import Item, Subject
from itembank.permissions import can_administer

from . import services
from .forms import MATCH_CHOICES, ORDER_CHOICES, GroupFilterForm
from .models import DuplicateCandidate, DuplicateGroup, DuplicateScan, PairDecision

GROUP_PARAMETERS = {"page", "page_size", "ordering", "subject", "match", "format"}


class CanViewDuplicates(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        return services.can_view_duplicates(request.user)


class GroupPagination(ItemPagination):
    page_size = 20


# Serializers ---------------------------------------------------------------------------------


class ItemBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = [
            "id",
            "external_id",
            "subject",
            "grade",
            "unit",
            "item_type",
            "status",
            "stem",
            "choices",
            "image_count",
            "created_at",
        ]
        read_only_fields = fields


class DecisionSerializer(serializers.ModelSerializer):
    item_a = serializers.IntegerField(
        source="item_a_id", min_value=1, help_text=gettext_lazy("One item of the pair")
    )
    item_b = serializers.IntegerField(
        source="item_b_id", min_value=1, help_text=gettext_lazy("The other item")
    )
    keeper = serializers.IntegerField(
        source="keeper_id",
        min_value=1,
        required=False,
        allow_null=True,
        help_text=gettext_lazy("For a duplicate: the id of the item to keep"),
    )
    decided_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("Null once that user is deleted"),
    )
    retired_item = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("The item a duplicate retired; null for other kinds"),
    )

    class Meta:
        model = PairDecision
        fields = [
            "id",
            "item_a",
            "item_b",
            "kind",
            "keeper",
            "note",
            "retired_item",
            "decided_by",
            "decided_at",
        ]
        read_only_fields = ["id", "retired_item", "decided_by", "decided_at"]

    def validate(self, attrs: dict) -> dict:
        try:
            services.validate_decision(
                attrs["item_a_id"], attrs["item_b_id"], attrs["kind"], attrs.get("keeper_id")
            )
        except services.DecisionError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from exc
        found = set(
            Item.objects.filter(pk__in=[attrs["item_a_id"], attrs["item_b_id"]]).values_list(
                "pk", flat=True
            )
        )
        missing = {
            name: [_("Item %(id)s does not exist.") % {"id": attrs[f"{name}_id"]}]
            for name in ("item_a", "item_b")
            if attrs[f"{name}_id"] not in found
        }
        if missing:
            raise ValidationError(missing)
        return attrs


class CandidateSerializer(serializers.ModelSerializer):
    decision = serializers.SerializerMethodField()
    open = serializers.BooleanField(source="is_open", read_only=True)

    class Meta:
        model = DuplicateCandidate
        fields = ["id", "item_a", "item_b", "score", "exact", "open", "decision"]
        read_only_fields = fields

    @extend_schema_field(DecisionSerializer(allow_null=True))
    def get_decision(self, candidate: DuplicateCandidate) -> dict | None:
        decision = getattr(candidate, "decision", None)
        return DecisionSerializer(decision).data if decision is not None else None


class GroupSerializer(serializers.ModelSerializer):
    scan = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = DuplicateGroup
        fields = [
            "id",
            "scan",
            "subject",
            "size",
            "max_score",
            "has_exact",
            "item_ids",
            "newest_item_at",
            "created_at",
        ]
        read_only_fields = fields


class GroupDetailSerializer(GroupSerializer):
    items = serializers.SerializerMethodField()
    candidates = serializers.SerializerMethodField()
    suggested_keeper = serializers.SerializerMethodField()

    class Meta(GroupSerializer.Meta):
        fields = [*GroupSerializer.Meta.fields, "suggested_keeper", "items", "candidates"]
        read_only_fields = fields

    def _items(self, group: DuplicateGroup) -> list[Item]:
        if not hasattr(group, "_items"):
            found = {i.pk: i for i in Item.objects.filter(pk__in=group.item_ids)}
            group._items = [found[pk] for pk in group.item_ids if pk in found]
        return group._items

    @extend_schema_field(ItemBriefSerializer(many=True))
    def get_items(self, group: DuplicateGroup) -> list[dict]:
        return ItemBriefSerializer(self._items(group), many=True).data

    @extend_schema_field(CandidateSerializer(many=True))
    def get_candidates(self, group: DuplicateGroup) -> list[dict]:
        return CandidateSerializer(services.group_candidates(group), many=True).data

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_suggested_keeper(self, group: DuplicateGroup) -> int | None:
        keeper = services.suggested_keeper(self._items(group))
        return keeper.pk if keeper is not None else None


class ScanSerializer(JobSerializer):
    """A scan: the fields of every job (itembank.jobs) and its own."""

    space = serializers.CharField(
        source="space.name",
        read_only=True,
        allow_null=True,
        help_text=gettext_lazy("Null for a scan of exact matches only"),
    )
    phase = serializers.CharField(read_only=True)
    settings = serializers.JSONField(read_only=True)
    pair_count = serializers.IntegerField(read_only=True)
    group_count = serializers.IntegerField(read_only=True)


# Views ---------------------------------------------------------------------------------------


def group_filters(request: Request) -> GroupFilterForm:
    """The list's query parameters through the report's filter form; anything else is a 400."""
    data = {
        "subject": request.query_params.get("subject", ""),
        "match": request.query_params.get("match", ""),
        "order": request.query_params.get("ordering", ""),
    }
    form = GroupFilterForm(data)
    errors: dict[str, list[str]] = {}
    if not form.is_valid():
        for name, messages in form.errors.items():
            errors["ordering" if name == "order" else name] = list(messages)
    for name in request.query_params:
        if name not in GROUP_PARAMETERS:
            errors[name] = [_("Unknown query parameter.")]
    if errors:
        raise ValidationError(errors)
    return form


def visible_groups(*, scan: DuplicateScan | None = None) -> QuerySet[DuplicateGroup]:
    return DuplicateGroup.objects.filter(scan__status=DuplicateScan.Status.SUCCEEDED)


@extend_schema(
    summary=gettext_lazy("Duplicate groups of the latest scan"),
    description=gettext_lazy(
        "Groups with at least one pair left to review, from the latest scan that finished."
    ),
    parameters=[
        OpenApiParameter(
            "ordering", str, enum=[value for value, _label in ORDER_CHOICES], required=False
        ),
        OpenApiParameter("subject", str, enum=Subject.values, required=False),
        OpenApiParameter(
            "match", str, enum=[value for value, _label in MATCH_CHOICES if value], required=False
        ),
    ],
)
class GroupList(generics.ListAPIView):
    serializer_class = GroupSerializer
    permission_classes = [CanViewDuplicates]
    pagination_class = GroupPagination

    def get_queryset(self) -> QuerySet[DuplicateGroup]:
        form = group_filters(self.request)
        return form.groups(services.latest_scan())


@extend_schema(summary=gettext_lazy("A duplicate group with its items and pairs"))
class GroupDetail(generics.RetrieveAPIView):
    serializer_class = GroupDetailSerializer
    permission_classes = [CanViewDuplicates]

    def get_queryset(self) -> QuerySet[DuplicateGroup]:
        return visible_groups()


class DecisionList(generics.ListCreateAPIView):
    serializer_class = DecisionSerializer
    permission_classes = [CanViewDuplicates]
    pagination_class = ItemPagination

    def get_queryset(self) -> QuerySet[PairDecision]:
        qs = PairDecision.objects.select_related("decided_by").order_by("-decided_at", "-id")
        params = self.request.query_params
        errors: dict[str, list[str]] = {}
        if "kind" in params:
            if params["kind"] not in PairDecision.Kind.values:
                errors["kind"] = [
                    _("Use one of: %(kinds)s.") % {"kinds": ", ".join(PairDecision.Kind.values)}
                ]
            qs = qs.filter(kind=params["kind"])
        if "item" in params:
            if not params["item"].isdigit():
                errors["item"] = [_("Give an item id.")]
            else:
                item = int(params["item"])
                qs = qs.filter(item_a=item) | qs.filter(item_b=item)
        for name in params:
            if name not in {"kind", "item", "page", "page_size", "format"}:
                errors[name] = [_("Unknown query parameter.")]
        if errors:
            raise ValidationError(errors)
        return qs

    @extend_schema(
        summary=gettext_lazy("Recorded decisions on pairs"),
        parameters=[
            OpenApiParameter("kind", str, enum=PairDecision.Kind.values, required=False),
            OpenApiParameter("item", int, required=False),
        ],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary=gettext_lazy("Record a decision on a pair"),
        description=gettext_lazy(
            "duplicate (keeper stays, the other item is retired), variant (linked), enemy "
            "(never on the same test form) or not_duplicate (never proposed again). A decision "
            "on a pair that has one replaces it (administrators only)."
        ),
        responses={
            201: DecisionSerializer,
            200: DecisionSerializer,
            400: OpenApiResponse(description=gettext_lazy("Invalid pair, kind or keeper")),
            403: OpenApiResponse(description=gettext_lazy("Not allowed for your role")),
        },
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if not services.can_decide(request.user, data["kind"]):
            raise PermissionDenied(
                _("Only administrators can mark duplicates, because that retires an item.")
            )
        existing = services.decision_for(data["item_a_id"], data["item_b_id"])
        if existing is not None and not services.can_change_decisions(request.user):
            raise PermissionDenied(
                _("This pair has a decision already; only administrators can change it.")
            )
        try:
            decision = services.record_decision(
                data["item_a_id"],
                data["item_b_id"],
                data["kind"],
                user=request.user,
                keeper=data.get("keeper_id"),
                note=data.get("note", ""),
            )
        except services.DecisionError as exc:
            raise ValidationError({"non_field_errors": [str(exc)]}) from exc
        code = status.HTTP_200_OK if existing is not None else status.HTTP_201_CREATED
        return Response(DecisionSerializer(decision).data, status=code)


class IsAdministrator(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return services.can_view_duplicates(request.user)
        return can_administer(request.user)


class DecisionDetail(generics.RetrieveDestroyAPIView):
    serializer_class = DecisionSerializer
    permission_classes = [IsAdministrator]
    queryset = PairDecision.objects.select_related("decided_by")

    @extend_schema(summary=gettext_lazy("A recorded decision"))
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary=gettext_lazy("Undo a decision (administrators only)"),
        description=gettext_lazy(
            "A duplicate's retired item gets its old status back; the pair may be proposed again."
        ),
    )
    def delete(self, request: Request, *args, **kwargs) -> Response:
        return super().delete(request, *args, **kwargs)

    def perform_destroy(self, instance: PairDecision) -> None:
        services.undo_decision(instance, user=self.request.user)


class ScanList(generics.ListCreateAPIView):
    serializer_class = ScanSerializer
    permission_classes = [IsAdministrator]
    pagination_class = ItemPagination
    queryset = DuplicateScan.objects.select_related("space", "created_by").order_by(
        "-created_at", "-id"
    )

    @extend_schema(summary=gettext_lazy("Duplicate scans, newest first"))
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary=gettext_lazy("Start a duplicate scan (administrators only)"),
        description=gettext_lazy(
            "Queues a scan of the whole bank in the default embedding space. When a scan is "
            "already queued or running, that scan is returned with 200 instead."
        ),
        request=None,
        responses={202: ScanSerializer, 200: ScanSerializer},
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        scan, created = services.start_scan(request.user)
        code = status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK
        return Response(ScanSerializer(scan).data, status=code)


@extend_schema(summary=gettext_lazy("A duplicate scan and its progress"))
class ScanDetail(generics.RetrieveAPIView):
    serializer_class = ScanSerializer
    permission_classes = [CanViewDuplicates]
    queryset = DuplicateScan.objects.select_related("space", "created_by")
