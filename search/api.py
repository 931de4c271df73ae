"""REST API of the search engine: `GET/POST /api/search/` and `GET /api/items/{id}/similar/`.

Thin views over `search.engine.search`: parameters are checked here (types, unknown names) and
by the engine (meaning). A 400 is either ``{"detail": message}`` (a `SearchError` of the
engine, or a body that does not parse) or ``{parameter: [messages]}`` (a parameter that failed
validation, as DRF writes it); `BAD_REQUEST` documents both.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.conf import settings
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from itembank.filters import ItemFilterForm
from itembank.models import Item
from itembank.permissions import can_read_items

from .engine import FILTER_FIELDS, MODES, SearchError, SearchRequest, SearchResult, search

COMMON_PARAMETERS = {"format"}


class CanSearch(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        return can_read_items(request.user)


# -- parameters -----------------------------------------------------------------------------


class OptionsSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(choices=MODES, required=False, help_text="dense, bm25, …")
    k = serializers.IntegerField(required=False, help_text="Number of results.")
    alpha = serializers.FloatField(
        required=False, help_text="Hybrid weight of the dense score (0–1)."
    )
    rerank = serializers.BooleanField(required=False, allow_null=True, default=None)
    space = serializers.CharField(required=False, max_length=64, help_text="Embedding space name.")
    subject = serializers.CharField(required=False, allow_blank=True)
    school_level = serializers.CharField(required=False, allow_blank=True)
    grade = serializers.CharField(required=False, allow_blank=True)
    unit = serializers.CharField(required=False, allow_blank=True)
    item_type = serializers.CharField(required=False, allow_blank=True)
    status = serializers.CharField(required=False, allow_blank=True)
    has_image = serializers.CharField(required=False, allow_blank=True)


class SearchParamsSerializer(OptionsSerializer):
    text = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=True, default="",
        help_text="Query text (Korean, LaTeX between $…$).",
    )  # fmt: skip
    image = serializers.FileField(required=False, help_text="Query image (multipart POST).")
    item = serializers.IntegerField(
        required=False, help_text="Id of an item: more like this (the item is never returned)."
    )


# -- responses ------------------------------------------------------------------------------


class ItemSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    subject = serializers.CharField()
    school_level = serializers.CharField()
    grade = serializers.IntegerField(allow_null=True)
    unit = serializers.CharField()
    item_type = serializers.CharField()
    status = serializers.CharField()
    stem = serializers.CharField()
    image_urls = serializers.ListField(child=serializers.CharField())
    url = serializers.CharField()


class HitSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    score = serializers.FloatField()
    mode = serializers.CharField()
    dense = serializers.FloatField(allow_null=True, help_text="Cosine similarity.")
    keyword = serializers.FloatField(allow_null=True, help_text="BM25 score.")
    rerank = serializers.FloatField(allow_null=True, help_text="Reranker probability.")
    item = ItemSummarySerializer()


class SearchResponseSerializer(serializers.Serializer):
    mode = serializers.CharField()
    space = serializers.CharField(allow_null=True)
    k = serializers.IntegerField()
    alpha = serializers.FloatField(allow_null=True)
    reranked = serializers.BooleanField()
    took_ms = serializers.FloatField()
    timings = serializers.DictField(child=serializers.FloatField())
    results = HitSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


BAD_REQUEST = {
    "oneOf": [
        {
            "type": "object",
            "description": "The engine refused the query (or the body did not parse).",
            "properties": {"detail": {"type": "string"}},
            "required": ["detail"],
        },
        {
            "type": "object",
            "description": "Messages per parameter name (non_field_errors: the whole request).",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "minProperties": 1,
        },
    ]
}


def _absolute(request: Request, url: str) -> str:
    return request.build_absolute_uri(url)


def item_summary(item: Item, request: Request) -> dict:
    return {
        "id": item.pk,
        "external_id": item.external_id,
        "subject": item.subject,
        "school_level": item.school_level,
        "grade": item.grade,
        "unit": item.unit,
        "item_type": item.item_type,
        "status": item.status,
        "stem": item.stem,
        "image_urls": [
            _absolute(request, reverse("media", args=[image.file.name]))
            for image in item.images.all()
        ],
        "url": _absolute(request, reverse("item-api-detail", args=[item.pk])),
    }


def result_payload(result: SearchResult, request: Request) -> dict:
    return {
        "mode": result.mode,
        "space": result.space,
        "k": result.k,
        "alpha": result.alpha,
        "reranked": result.reranked,
        "took_ms": result.took_ms,
        "timings": result.timings,
        "results": [
            {
                "rank": hit.rank,
                "score": hit.score,
                "mode": hit.mode,
                "dense": hit.dense,
                "keyword": hit.keyword,
                "rerank": hit.rerank,
                "item": item_summary(hit.item, request),
            }
            for hit in result.hits
        ],
    }


def _params(serializer_class, data) -> dict:
    if not isinstance(data, Mapping):
        # A JSON body that is not an object (a number, a list): DRF's own 400, "expected a
        # dictionary", rather than a 500 from reading its names below.
        serializer_class(data=data).is_valid(raise_exception=True)
    allowed = set(serializer_class().fields) | COMMON_PARAMETERS
    unknown = sorted(name for name in data if name not in allowed)
    if unknown:
        raise ValidationError({name: [_("Unknown parameter.")] for name in unknown})
    if isinstance(data, QueryDict):
        repeated = [name for name in data if len(data.getlist(name)) > 1]
        if repeated:
            raise ValidationError({name: [_("Give this parameter once.")] for name in repeated})
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    values = dict(serializer.validated_data)
    filters = {name: values.pop(name) for name in FILTER_FIELDS if name in values}
    form = ItemFilterForm(filters)
    if not form.is_valid():
        raise ValidationError({name: list(errors) for name, errors in form.errors.items()})
    values["filters"] = {
        name: value for name, value in form.cleaned_data.items() if name != "q" and value
    }
    return values


def _run(request: Request, **kwargs) -> Response:
    try:
        result = search(SearchRequest(**kwargs))
    except SearchError as exc:
        return Response({"detail": str(exc)}, status=400)
    return Response(result_payload(result, request))


def _filter_parameters() -> list[OpenApiParameter]:
    out = []
    for name in FILTER_FIELDS:
        field = ItemFilterForm.base_fields[name]
        enum = [v for v, _label in getattr(field, "choices", []) if v] or None
        out.append(
            OpenApiParameter(name, OpenApiTypes.STR, description=str(field.label), enum=enum)
        )
    return out


OPTION_PARAMETERS = [
    OpenApiParameter("mode", OpenApiTypes.STR, enum=list(MODES)),
    OpenApiParameter("k", OpenApiTypes.INT, description="Number of results."),
    OpenApiParameter("alpha", OpenApiTypes.FLOAT, description="Hybrid weight of dense (0–1)."),
    OpenApiParameter("rerank", OpenApiTypes.BOOL),
    OpenApiParameter("space", OpenApiTypes.STR, description="Embedding space name."),
    *_filter_parameters(),
]
RESPONSES = {
    200: SearchResponseSerializer,
    400: OpenApiResponse(BAD_REQUEST, description="Bad query, filter, space or image."),
}


class SearchView(APIView):
    """Similar-item search by text, image, text + image, or an existing item."""

    permission_classes = [CanSearch]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(
        operation_id="search",
        summary="Search items (query string)",
        parameters=[
            OpenApiParameter("text", OpenApiTypes.STR, description="Query text."),
            OpenApiParameter("item", OpenApiTypes.INT, description="More like this item."),
            *OPTION_PARAMETERS,
        ],
        responses=RESPONSES,
    )
    def get(self, request: Request) -> Response:
        if "image" in request.query_params:
            raise ValidationError({"image": [_("Upload an image with a multipart POST.")]})
        return self._search(request, request.query_params)

    @extend_schema(
        operation_id="search_post",
        summary="Search items (with an image upload)",
        request={
            "multipart/form-data": SearchParamsSerializer,
            "application/json": SearchParamsSerializer,
        },
        responses=RESPONSES,
    )
    def post(self, request: Request) -> Response:
        return self._search(request, request.data)

    def _search(self, request: Request, data) -> Response:
        values = _params(SearchParamsSerializer, data)
        image = values.pop("image", None)
        image_bytes = None
        if image is not None:
            # check_image refuses anything over the limit; read no more than that plus one byte.
            image_bytes = image.read(settings.ITEMBANK_MAX_IMAGE_BYTES + 1)
        return _run(
            request,
            text=values.pop("text", ""),
            image=image_bytes,
            item_id=values.pop("item", None),
            **values,
        )


class SimilarItemsView(APIView):
    """More like this: the items most similar to one item (never the item itself)."""

    permission_classes = [CanSearch]

    @extend_schema(
        operation_id="items_similar",
        summary="Items similar to an item",
        parameters=OPTION_PARAMETERS,
        responses={**RESPONSES, 404: OpenApiResponse(ErrorSerializer, description="No such item.")},
    )
    def get(self, request: Request, pk: int) -> Response:
        if not Item.objects.filter(pk=pk).exists():
            raise NotFound(_("There is no item with id %(id)s.") % {"id": pk})
        values = _params(OptionsSerializer, request.query_params)
        return _run(request, item_id=pk, **values)
