"""The REST API for items: CRUD, filtering, images, history and token sign-in.

Validation is the model's own (`Item.full_clean`), and every write goes through
`itembank.services`, so an item saved here is checked and recorded exactly as one saved in the
authoring UI, the admin or an import.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import cast

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotAuthenticated, ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from . import limits
from .filters import ItemFilterForm
from .images import check_image
from .models import Item, ItemImage, ItemRevision
from .permissions import can_administer, can_edit_items, can_read_items
from .services import (
    ImageChanges,
    NewImage,
    StaleItem,
    check_status_change,
    delete_unreferenced_files,
    save_item,
)

# Query parameters the item list understands besides the ItemFilterForm fields.
LIST_PARAMETERS = {"page", "page_size", "ordering", "format"}
ORDERING_FIELDS = ["updated_at", "external_id"]


# Permissions ---------------------------------------------------------------------------------


class ItemAPIPermission(BasePermission):
    """Anyone signed in reads; teachers and admins write; only admins delete items."""

    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        if request.method in SAFE_METHODS:
            return can_read_items(user)
        if getattr(view, "action", None) == "destroy":
            return can_administer(user)
        return can_edit_items(user)


# Filtering, ordering and pagination ----------------------------------------------------------


class ItemFilterBackend(BaseFilterBackend):
    """Filters the item list through `ItemFilterForm`; bad or unknown parameters are a 400."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view) -> QuerySet:
        if getattr(view, "action", None) != "list":
            return queryset
        form = ItemFilterForm(request.query_params)
        errors: dict[str, list[str]] = {}
        if not form.is_valid():
            errors.update({name: list(messages) for name, messages in form.errors.items()})
        for name in request.query_params:
            if name not in form.fields and name not in LIST_PARAMETERS:
                errors[name] = [_("Unknown query parameter.")]
        if errors:
            raise ValidationError(errors)
        return form.filter(queryset)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = []
        for name, field in ItemFilterForm.base_fields.items():
            if hasattr(field, "choices"):
                schema = {"type": "string", "enum": [v for v, _label in field.choices if v]}
            elif isinstance(field, forms.IntegerField):
                schema = {"type": "integer", "minimum": field.min_value, "maximum": field.max_value}
            else:
                schema = {"type": "string"}
            parameters.append(
                {
                    "name": name,
                    "required": False,
                    "in": "query",
                    "description": str(field.label),
                    "schema": schema,
                }
            )
        return parameters


class ItemOrderingBackend(BaseFilterBackend):
    """`?ordering=updated_at|-updated_at|external_id|-external_id`; anything else is a 400."""

    param = "ordering"

    def choices(self) -> list[str]:
        return [prefix + name for name in ORDERING_FIELDS for prefix in ("", "-")]

    def filter_queryset(self, request: Request, queryset: QuerySet, view) -> QuerySet:
        value = request.query_params.get(self.param)
        if getattr(view, "action", None) != "list" or value is None:
            return queryset
        terms = [term.strip() for term in value.split(",") if term.strip()]
        allowed = self.choices()
        bad = [term for term in terms if term not in allowed]
        if bad or not terms:
            raise ValidationError(
                {self.param: [_("Order by one of: %(choices)s.") % {"choices": ", ".join(allowed)}]}
            )
        return queryset.order_by(*terms, "-id")

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [
            {
                "name": self.param,
                "required": False,
                "in": "query",
                "description": str(gettext_lazy("Sort order")),
                "schema": {"type": "string", "enum": self.choices()},
            }
        ]


class ItemPagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _("Give a whole number from 1 to %(max)d.") % {"max": self.max_page_size}
                    ]
                }
            )
        return size


# Serializers ---------------------------------------------------------------------------------


class StrictStringField(serializers.CharField):
    """A CharField that refuses numbers and other non-strings instead of converting them."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise ValidationError(_("Each entry must be text."), code="invalid")
        return super().to_internal_value(data)


def string_list(max_length: int, max_items: int) -> serializers.ListField:
    return serializers.ListField(
        child=StrictStringField(max_length=max_length, allow_blank=False, trim_whitespace=True),
        required=False,
        max_length=max_items,
    )


class ItemImageSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = ItemImage
        fields = ["id", "position", "url", "width", "height", "format", "sha256", "size_bytes"]
        read_only_fields = fields

    def get_url(self, image: ItemImage) -> str:
        url = reverse("media", args=[image.file.name])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


class ItemSerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    # The limits are the model's (itembank.limits), also checked by full_clean in validate().
    choices = string_list(limits.CHOICE_MAX, limits.CHOICES_MAX)
    tags = string_list(limits.TAG_MAX, limits.TAGS_MAX)
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
            "achievement_standard",
            "item_type",
            "stem",
            "choices",
            "answer",
            "explanation",
            "difficulty",
            "source",
            "tags",
            "status",
            "author",
            "created_at",
            "updated_at",
            "version",
            "content_hash",
            "has_latex",
            "images",
        ]
        read_only_fields = [
            "id",
            "author",
            "created_at",
            "updated_at",
            "version",
            "content_hash",
            "has_latex",
        ]
        # Uniqueness is checked by the model (full_clean), with the model's message.
        extra_kwargs = {"external_id": {"validators": []}}

    def validate_status(self, value: str) -> str:
        current = self.instance.status if self.instance is not None else None
        check_status_change(self.context["request"].user, current, value)
        return value

    def validate(self, attrs: dict) -> dict:
        candidate = copy.copy(self.instance) if self.instance is not None else Item()
        for name, value in attrs.items():
            setattr(candidate, name, value)
        # Raises Django's ValidationError; DRF turns it into field errors (400).
        candidate.full_clean()
        return attrs

    def save_with(
        self, images: ImageChanges | None = None, expected_version: int | None = None
    ) -> Item:
        """Create or update through `services.save_item`, so the history is recorded. Only the
        validated fields are set on the instance (for a PATCH, the row read under lock)."""
        item = self.instance if self.instance is not None else Item()
        for name, value in self.validated_data.items():
            setattr(item, name, value)
        save_item(
            item,
            user=self.context["request"].user,
            images=images,
            via="api",
            expected_version=expected_version,
        )
        item.refresh_from_db()
        self.instance = item
        return item

    def create(self, validated_data: dict) -> Item:
        return self.save_with()

    def update(self, instance: Item, validated_data: dict) -> Item:
        return self.save_with()


class ItemMultipartSerializer(ItemSerializer):
    """A create request as multipart form data: the item's fields plus `images` files."""

    images = serializers.ListField(child=serializers.FileField(), required=False, write_only=True)


class ImageUploadSerializer(serializers.Serializer):
    file = serializers.ListField(child=serializers.FileField())


class ImageOrderSerializer(serializers.Serializer):
    order = serializers.ListField(child=serializers.IntegerField(min_value=1))


class ItemRevisionSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = ItemRevision
        fields = ["id", "action", "via", "user", "changes", "created_at"]
        read_only_fields = fields


def check_uploads(files: Sequence, field: str, existing: int = 0) -> list[NewImage]:
    """Read and check uploaded files; raise a 400 naming every bad one before anything is
    written."""
    limit = settings.ITEMBANK_MAX_IMAGES_PER_ITEM
    if existing + len(files) > limit:
        raise ValidationError(
            {field: [_("An item may have at most %(max)d images.") % {"max": limit}]}
        )
    checked: list[NewImage] = []
    errors: list[str] = []
    for upload in files:
        name = upload.name or ""
        # Never read more than one byte past the limit; check_image reports the size.
        data = upload.read(settings.ITEMBANK_MAX_IMAGE_BYTES + 1)
        try:
            checked.append(NewImage(check_image(data, name), name))
        except DjangoValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError({field: errors})
    return checked


# Versions: ETag and If-Match ------------------------------------------------------------------


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "stale"


def etag(item: Item) -> str:
    return f'"{item.version}"'


def if_match_version(request: Request) -> int | None:
    """The item version an `If-Match` header asks for; None without one (or with `*`). A
    header that names no version this API sends is a 400."""
    raw = request.headers.get("If-Match", "").strip()
    if not raw or raw == "*":
        return None
    tag = raw.removeprefix("W/").strip().strip('"')
    if not tag.isdigit():
        raise ValidationError(
            {"If-Match": [_('Send the ETag of the item as you read it, e.g. If-Match: "3".')]}
        )
    return int(tag)


def stale(exc: StaleItem) -> PreconditionFailed:
    return PreconditionFailed(
        _(
            "This item was changed after you read it: it is now at version %(current)d, your "
            "change was for version %(expected)d. Nothing was saved; read the item again and "
            "make your change on the new version."
        )
        % {"current": exc.current, "expected": exc.expected}
    )


# Views ---------------------------------------------------------------------------------------


IMAGE_ID = OpenApiParameter("image_id", OpenApiTypes.INT, OpenApiParameter.PATH)


@extend_schema_view(
    list=extend_schema(summary=gettext_lazy("List items")),
    retrieve=extend_schema(summary=gettext_lazy("Show an item")),
    create=extend_schema(
        summary=gettext_lazy("Create an item"),
        request={
            "application/json": ItemSerializer,
            "multipart/form-data": ItemMultipartSerializer,
        },
        responses={201: ItemSerializer},
    ),
    update=extend_schema(summary=gettext_lazy("Replace an item")),
    partial_update=extend_schema(summary=gettext_lazy("Change some fields of an item")),
    destroy=extend_schema(summary=gettext_lazy("Delete an item (administrators only)")),
)
class ItemViewSet(viewsets.ModelViewSet):
    serializer_class = ItemSerializer
    permission_classes = [ItemAPIPermission]
    filter_backends = [ItemFilterBackend, ItemOrderingBackend]
    pagination_class = ItemPagination
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet[Item]:
        return (
            Item.objects.select_related("author")
            .prefetch_related("images")
            .order_by("-updated_at", "-id")
        )

    def create(self, request: Request, *args, **kwargs) -> Response:
        serializer = cast(ItemSerializer, self.get_serializer(data=request.data))
        valid = serializer.is_valid()
        errors = dict(serializer.errors) if not valid else {}
        added: list[NewImage] = []
        try:
            added = check_uploads(request.FILES.getlist("images"), "images")
        except ValidationError as exc:
            errors.update(exc.detail)
        if errors:
            raise ValidationError(errors)
        item = serializer.save_with(ImageChanges(added=added))
        return self._item_response(item, status.HTTP_201_CREATED)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return self._item_response(self.get_object())

    def update(self, request: Request, *args, **kwargs) -> Response:
        """PUT and PATCH. The row is read under `select_for_update` before the request's fields
        are applied to it, so a concurrent change to other fields is kept, and `If-Match` (the
        ETag of a GET) makes a change to a version someone else has replaced a 412."""
        partial = kwargs.pop("partial", False)
        expected = if_match_version(request)
        with transaction.atomic():
            item = self._locked_item()
            serializer = cast(
                ItemSerializer, self.get_serializer(item, data=request.data, partial=partial)
            )
            serializer.is_valid(raise_exception=True)
            try:
                item = serializer.save_with(expected_version=expected)
            except StaleItem as exc:
                raise stale(exc) from exc
        return self._item_response(item)

    def perform_destroy(self, instance: Item) -> None:
        names = list(instance.images.values_list("file", flat=True))
        instance.delete()
        transaction.on_commit(lambda: delete_unreferenced_files(names))

    def _item_response(self, item: Item, code: int = status.HTTP_200_OK) -> Response:
        item = self.get_queryset().get(pk=item.pk)
        response = Response(self.get_serializer(item).data, status=code)
        response["ETag"] = etag(item)
        return response

    # The actions below take **kwargs: the router's format-suffix twins (…/history.json) pass
    # `format`, which without it was a TypeError, a 500.

    def _locked_item(self) -> Item:
        item = self.get_object()  # permissions and 404 first
        return Item.objects.select_for_update().get(pk=item.pk)

    @extend_schema(
        summary=gettext_lazy("Add images to an item"),
        request={"multipart/form-data": ImageUploadSerializer},
        responses={201: ItemSerializer},
    )
    @action(detail=True, methods=["post"], url_path="images", parser_classes=[MultiPartParser])
    def upload_images(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        with transaction.atomic():
            item = self._locked_item()
            files = request.FILES.getlist("file")
            if not files:
                raise ValidationError({"file": [_("Choose at least one image file.")]})
            added = check_uploads(files, "file", existing=item.images.count())
            save_item(item, user=request.user, images=ImageChanges(added=added), via="api")
        return self._item_response(item, status.HTTP_201_CREATED)

    @extend_schema(
        summary=gettext_lazy("Remove an image from an item"),
        parameters=[IMAGE_ID],
        request=None,
        responses={204: None},
    )
    @action(detail=True, methods=["delete"], url_path=r"images/(?P<image_id>[0-9]+)")
    def delete_image(
        self, request: Request, pk: str | None = None, image_id: str = "", **kwargs
    ) -> Response:
        with transaction.atomic():
            item = self._locked_item()
            image = get_object_or_404(ItemImage, pk=int(image_id), item=item)
            order = list(
                item.images.exclude(pk=image.pk)
                .order_by("position", "id")
                .values_list("pk", flat=True)
            )
            save_item(item, user=request.user, images=ImageChanges(order=order), via="api")
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary=gettext_lazy("Put an item's images in a new order"),
        request=ImageOrderSerializer,
        responses={200: ItemSerializer},
    )
    @action(detail=True, methods=["put"], url_path="images/order", parser_classes=[JSONParser])
    def order_images(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        serializer = ImageOrderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = serializer.validated_data["order"]
        with transaction.atomic():
            item = self._locked_item()
            current = set(item.images.values_list("pk", flat=True))
            if len(order) != len(set(order)) or set(order) != current:
                raise ValidationError(
                    {"order": [_("List each of this item's image ids exactly once.")]}
                )
            save_item(item, user=request.user, images=ImageChanges(order=order), via="api")
        return self._item_response(item)

    @extend_schema(
        summary=gettext_lazy("An item's edit history"),
        responses=ItemRevisionSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request: Request, pk: str | None = None, **kwargs) -> Response:
        item = self.get_object()
        revisions = item.revisions.select_related("user").order_by("-created_at", "-id")
        page = self.paginate_queryset(revisions)
        data = ItemRevisionSerializer(page, many=True).data
        return self.get_paginated_response(data)


class TokenView(ObtainAuthToken):
    """Exchange a username and password for an API token (sent as `Authorization: Token …`)."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth-token"

    @extend_schema(
        summary=gettext_lazy("Get an API token"),
        request=AuthTokenSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: OpenApiResponse(description=gettext_lazy("Wrong username or password")),
        },
        auth=[],
    )
    def post(self, request: Request, *args, **kwargs) -> Response:
        return super().post(request, *args, **kwargs)

    @extend_schema(
        summary=gettext_lazy("Revoke your API token"),
        request=None,
        responses={204: None, 401: OpenApiResponse(description=gettext_lazy("Not signed in"))},
    )
    def delete(self, request: Request, *args, **kwargs) -> Response:
        """Delete the caller's token (sent with it or with a session); the next sign-in gets a
        new one."""
        if not request.user.is_authenticated:
            raise NotAuthenticated
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
